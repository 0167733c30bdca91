//! The commands. `execute` answers one request, as a transaction, by calling the command's
//! handler; every handler is updateable. A handler takes the request's arguments, the command
//! first, and writes its reply to `out`.

use crate::resp;
use crate::session::Session;
use crate::store::{lock, STORE};

/// Answers one request. All of it runs in one version, even when an update lands meanwhile.
#[dsu::transaction]
#[dsu::updateable]
pub fn execute(session: &mut dsu::State<Session>, args: &[&[u8]], out: &mut Vec<u8>) {
    let mut name = [0; 16];
    let Some(upper) = name.get_mut(..args[0].len()) else { return unknown(args, out) };
    upper.copy_from_slice(args[0]);
    upper.make_ascii_uppercase();
    match &*upper {
        b"PING" => ping(args, out),
        b"ECHO" => echo(args, out),
        b"GET" => get(args, out),
        b"SET" => set(args, out),
        b"DEL" => del(args, out),
        b"EXISTS" => exists(args, out),
        b"DBSIZE" => dbsize(args, out),
        b"INCR" => incr(args, out),
        b"DECR" => decr(args, out),
        b"INCRBY" => incrby(args, out),
        b"DECRBY" => decrby(args, out),
        b"APPEND" => append(args, out),
        b"STRLEN" => strlen(args, out),
        b"MGET" => mget(args, out),
        b"MSET" => mset(args, out),
        b"KEYS" => keys(args, out),
        b"FLUSHALL" | b"FLUSHDB" => flushall(args, out),
        b"CONFIG" => config(args, out),
        b"COMMAND" => command(args, out),
        b"CLIENT" => client(session, args, out),
        _ => unknown(args, out),
    }
}

#[dsu::updateable]
pub fn unknown(args: &[&[u8]], out: &mut Vec<u8>) {
    let name = String::from_utf8_lossy(args[0]);
    resp::error(out, &format!("ERR unknown command '{name}'"));
}

/// `PING [message]`
#[dsu::updateable]
pub fn ping(args: &[&[u8]], out: &mut Vec<u8>) {
    match args {
        [_] => resp::simple(out, "PONG"),
        [_, message] => resp::bulk(out, message),
        _ => resp::wrong_arity(out, "ping"),
    }
}

/// `ECHO message`
#[dsu::updateable]
pub fn echo(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_, message] = args else { return resp::wrong_arity(out, "echo") };
    resp::bulk(out, message);
}

/// `GET key`
#[dsu::updateable]
pub fn get(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_, key] = args else { return resp::wrong_arity(out, "get") };
    STORE.with(|store| match lock(store).get(*key) {
        Some(value) => resp::bulk(out, value),
        None => resp::null(out),
    });
}

/// `SET key value`
#[dsu::updateable]
pub fn set(args: &[&[u8]], out: &mut Vec<u8>) {
    match args {
        [_, key, value] => {
            STORE.with(|store| lock(store).insert(key.to_vec(), value.to_vec()));
            resp::ok(out);
        }
        [_, _, _, ..] => resp::error(out, "ERR syntax error"),
        _ => resp::wrong_arity(out, "set"),
    }
}

/// `DEL key [key ...]`: how many of the keys were there.
#[dsu::updateable]
pub fn del(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_, keys @ ..] = args else { unreachable!("a request has a command") };
    if keys.is_empty() {
        return resp::wrong_arity(out, "del");
    }
    let removed = STORE.with(|store| {
        let mut store = lock(store);
        keys.iter().filter(|key| store.remove(**key).is_some()).count()
    });
    resp::integer(out, removed as i64);
}

/// `EXISTS key [key ...]`: how many of the keys are there, counting a key named twice twice.
#[dsu::updateable]
pub fn exists(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_, keys @ ..] = args else { unreachable!("a request has a command") };
    if keys.is_empty() {
        return resp::wrong_arity(out, "exists");
    }
    let found = STORE.with(|store| {
        let store = lock(store);
        keys.iter().filter(|key| store.contains_key(**key)).count()
    });
    resp::integer(out, found as i64);
}

/// `INCR key`: adds 1 to the number the key holds (0 if there is no key) and answers the sum.
#[dsu::updateable]
pub fn incr(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_, key] = args else { return resp::wrong_arity(out, "incr") };
    add(key, 1, out);
}

/// `DECR key`
#[dsu::updateable]
pub fn decr(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_, key] = args else { return resp::wrong_arity(out, "decr") };
    add(key, -1, out);
}

/// `INCRBY key increment`
#[dsu::updateable]
pub fn incrby(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_, key, increment] = args else { return resp::wrong_arity(out, "incrby") };
    match resp::number(increment) {
        Some(increment) => add(key, increment, out),
        None => resp::error(out, "ERR value is not an integer or out of range"),
    }
}

/// `DECRBY key decrement`
#[dsu::updateable]
pub fn decrby(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_, key, decrement] = args else { return resp::wrong_arity(out, "decrby") };
    match resp::number(decrement).and_then(i64::checked_neg) {
        Some(increment) => add(key, increment, out),
        None => resp::error(out, "ERR value is not an integer or out of range"),
    }
}

/// Adds `increment` to the number `key` holds, and answers the sum. A value that is not a
/// number, or a sum out of range, is an error and changes nothing. (Version 2 took such a value
/// for 0 and let the sum wrap around: `INCR` on a text overwrote the text with `1`.)
#[dsu::updateable]
pub fn add(key: &[u8], increment: i64, out: &mut Vec<u8>) {
    let sum = STORE.with(|store| {
        let mut store = lock(store);
        let number = match store.get(key) {
            None => 0,
            Some(value) => {
                resp::number(value).ok_or("ERR value is not an integer or out of range")?
            }
        };
        let sum =
            number.checked_add(increment).ok_or("ERR increment or decrement would overflow")?;
        store.insert(key.to_vec(), sum.to_string().into_bytes());
        Ok(sum)
    });
    match sum {
        Ok(sum) => resp::integer(out, sum),
        Err(message) => resp::error(out, message),
    }
}

/// `APPEND key value`: the length of the value after the append.
#[dsu::updateable]
pub fn append(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_, key, value] = args else { return resp::wrong_arity(out, "append") };
    let len = STORE.with(|store| {
        let mut store = lock(store);
        let existing = store.entry(key.to_vec()).or_default();
        existing.extend_from_slice(value);
        existing.len()
    });
    resp::integer(out, len as i64);
}

/// `STRLEN key`
#[dsu::updateable]
pub fn strlen(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_, key] = args else { return resp::wrong_arity(out, "strlen") };
    let len = STORE.with(|store| lock(store).get(*key).map_or(0, Vec::len));
    resp::integer(out, len as i64);
}

/// `MGET key [key ...]`: the values, null for a key that is not there.
#[dsu::updateable]
pub fn mget(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_, keys @ ..] = args else { unreachable!("a request has a command") };
    if keys.is_empty() {
        return resp::wrong_arity(out, "mget");
    }
    resp::array(out, keys.len());
    STORE.with(|store| {
        let store = lock(store);
        for key in keys {
            match store.get(*key) {
                Some(value) => resp::bulk(out, value),
                None => resp::null(out),
            }
        }
    });
}

/// `MSET key value [key value ...]`
#[dsu::updateable]
pub fn mset(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_, pairs @ ..] = args else { unreachable!("a request has a command") };
    if pairs.is_empty() || pairs.len() % 2 != 0 {
        return resp::wrong_arity(out, "mset");
    }
    STORE.with(|store| {
        let mut store = lock(store);
        for pair in pairs.chunks_exact(2) {
            store.insert(pair[0].to_vec(), pair[1].to_vec());
        }
    });
    resp::ok(out);
}

/// `KEYS pattern`: every key that matches the glob-style pattern (`*`, `?`, `[abc]`, `[^a-z]`,
/// `\x`).
#[dsu::updateable]
pub fn keys(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_, pattern] = args else { return resp::wrong_arity(out, "keys") };
    let found: Vec<Vec<u8>> =
        STORE.with(|store| lock(store).keys().filter(|key| glob(pattern, key)).cloned().collect());
    resp::array(out, found.len());
    for key in found {
        resp::bulk(out, &key);
    }
}

/// Whether `text` matches the glob-style `pattern`, as Redis matches them.
#[dsu::updateable]
pub fn glob(pattern: &[u8], text: &[u8]) -> bool {
    // Where to go on after a `*`: the pattern after it, and the text it had matched up to.
    let mut star: Option<(usize, usize)> = None;
    let (mut p, mut t) = (0, 0);
    while t < text.len() {
        let step = match pattern.get(p) {
            Some(b'*') => {
                star = Some((p + 1, t));
                p += 1;
                continue;
            }
            Some(b'?') => Some(p + 1),
            Some(b'[') => class(pattern, p, text[t]),
            Some(b'\\') if p + 1 < pattern.len() => (pattern[p + 1] == text[t]).then_some(p + 2),
            Some(&literal) => (literal == text[t]).then_some(p + 1),
            None => None,
        };
        match (step, star) {
            (Some(next), _) => (p, t) = (next, t + 1),
            // Let the last `*` take one more byte and try again.
            (None, Some((after, taken))) => {
                (p, t) = (after, taken + 1);
                star = Some((after, taken + 1));
            }
            (None, None) => return false,
        }
    }
    pattern[p..].iter().all(|&byte| byte == b'*')
}

/// Whether `byte` is in the class `[...]` that starts at `pattern[open]`: where the pattern
/// goes on after the class if it is. As in Redis, a `]` right after `[` (or `[^`) closes an
/// empty class, and a class that is never closed runs to the end of the pattern.
fn class(pattern: &[u8], open: usize, byte: u8) -> Option<usize> {
    let mut i = open + 1;
    let negated = pattern.get(i) == Some(&b'^');
    if negated {
        i += 1;
    }
    let mut found = false;
    loop {
        match pattern[i..] {
            [] => break,
            [b']', ..] => {
                i += 1;
                break;
            }
            [b'\\', escaped, ..] => {
                found |= escaped == byte;
                i += 2;
            }
            [low, b'-', high, ..] => {
                found |= (low.min(high)..=low.max(high)).contains(&byte);
                i += 3;
            }
            [member, ..] => {
                found |= member == byte;
                i += 1;
            }
        }
    }
    (found != negated).then_some(i)
}

/// `DBSIZE`
#[dsu::updateable]
pub fn dbsize(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_] = args else { return resp::wrong_arity(out, "dbsize") };
    let len = STORE.with(|store| lock(store).len());
    resp::integer(out, len as i64);
}

/// `FLUSHALL`, `FLUSHDB`: remove every key.
#[dsu::updateable]
pub fn flushall(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_] = args else { return resp::wrong_arity(out, "flushall") };
    STORE.with(|store| lock(store).clear());
    resp::ok(out);
}

/// `CONFIG GET parameter`: the few settings clients ask for (redis-benchmark asks for `save`
/// and `appendonly` when it starts).
#[dsu::updateable]
pub fn config(args: &[&[u8]], out: &mut Vec<u8>) {
    const SETTINGS: [(&str, &str); 4] =
        [("save", ""), ("appendonly", "no"), ("maxclients", "10000"), ("databases", "1")];
    let [_, subcommand, parameter] = args else { return resp::wrong_arity(out, "config") };
    if !subcommand.eq_ignore_ascii_case(b"GET") {
        return resp::error(out, "ERR only CONFIG GET is supported");
    }
    let found: Vec<_> = SETTINGS
        .iter()
        .filter(|(name, _)| parameter.eq_ignore_ascii_case(name.as_bytes()))
        .collect();
    resp::array(out, 2 * found.len());
    for (name, value) in found {
        resp::bulk(out, name.as_bytes());
        resp::bulk(out, value.as_bytes());
    }
}

/// `COMMAND ...`: no command descriptions (redis-cli asks for them, and does without).
#[dsu::updateable]
pub fn command(_args: &[&[u8]], out: &mut Vec<u8>) {
    resp::array(out, 0);
}

/// `CLIENT ID`, `CLIENT GETNAME`, `CLIENT SETNAME name`: the connection's own session.
#[dsu::updateable]
pub fn client(session: &mut dsu::State<Session>, args: &[&[u8]], out: &mut Vec<u8>) {
    let Some(subcommand) = args.get(1) else { return resp::wrong_arity(out, "client") };
    let subcommand = String::from_utf8_lossy(subcommand).to_ascii_lowercase();
    match (subcommand.as_str(), &args[2..]) {
        ("id", []) => resp::integer(out, session.with(|session| session.id) as i64),
        ("getname", []) => session.with(|session| match &session.name[..] {
            [] => resp::null(out),
            name => resp::bulk(out, name),
        }),
        ("setname", [name]) => {
            if name.iter().any(|byte| !(b'!'..=b'~').contains(byte)) {
                return resp::error(
                    out,
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                );
            }
            session.with_mut(|session| session.name = name.to_vec());
            resp::ok(out);
        }
        ("id" | "getname" | "setname", _) => {
            resp::wrong_arity(out, &format!("client|{subcommand}"))
        }
        _ => resp::error(
            out,
            &format!("ERR unknown subcommand '{subcommand}'. Try CLIENT HELP."),
        ),
    }
}
