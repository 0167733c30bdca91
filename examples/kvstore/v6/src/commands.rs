//! The commands. `execute` answers one request, as a transaction, by calling the command's
//! handler; every handler is updateable. A handler takes the request's arguments, the command
//! first, and writes its reply to `out`.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::resp;
use crate::session::Session;
use crate::server::{CLIENTS, MAX_CLIENTS};
use crate::stats::STATS;
use crate::store::{deadline, live, now, Entry, STORE};

/// Answers one request. All of it runs in one version, even when an update lands meanwhile.
#[dsu::transaction]
#[dsu::updateable]
pub fn execute(session: &mut dsu::State<Session>, args: &[&[u8]], out: &mut Vec<u8>) {
    STATS.with(|stats| stats.commands.fetch_add(1, Ordering::Relaxed));
    session.with_mut(|session| {
        session.commands += 1;
        session.last_command = args[0].to_ascii_lowercase();
    });
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
        b"EXPIRE" => expire(args, out),
        b"PEXPIRE" => pexpire(args, out),
        b"TTL" => ttl(args, out),
        b"PTTL" => pttl(args, out),
        b"PERSIST" => persist(args, out),
        b"INFO" => info(args, out),
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
    let found = STORE.with(|store| match live(&mut store.of(key), key) {
        Some(entry) => {
            resp::bulk(out, &entry.value);
            true
        }
        None => {
            resp::null(out);
            false
        }
    });
    STATS.with(|stats| {
        let counter = if found { &stats.hits } else { &stats.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    });
}

/// `SET key value [EX seconds | PX milliseconds] [NX | XX]`: a value that expires after the
/// time given, if one is; `NX` sets only a key that is not there, `XX` only one that is (and
/// then the reply is null if the value was not set).
#[dsu::updateable]
pub fn set(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_, key, value, options @ ..] = args else { return resp::wrong_arity(out, "set") };
    let (mut expires_at, mut only_if) = (None, None);
    let mut options = options.iter();
    while let Some(option) = options.next() {
        let option = option.to_ascii_uppercase();
        match &option[..] {
            b"EX" | b"PX" if expires_at.is_none() => {
                let Some(after) = options.next() else {
                    return resp::error(out, "ERR syntax error");
                };
                let unit = if option == b"EX" { 1000 } else { 1 };
                let after = resp::number(after).filter(|&after| after > 0);
                match after.and_then(|after| after.checked_mul(unit)).and_then(deadline) {
                    Some(at) => expires_at = Some(at),
                    None => return resp::error(out, "ERR invalid expire time in 'set' command"),
                }
            }
            b"NX" | b"XX" if only_if.is_none() => only_if = Some(option == b"XX"),
            _ => return resp::error(out, "ERR syntax error"),
        }
    }
    let done = STORE.with(|store| {
        let mut store = store.of(key);
        if only_if.is_some_and(|exists| live(&mut store, key).is_some() != exists) {
            return false;
        }
        store.insert(key.to_vec(), Entry { value: value.to_vec(), expires_at });
        true
    });
    if done {
        resp::ok(out)
    } else {
        resp::null(out)
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
        let mut all = store.all();
        let now = now();
        keys.iter()
            .filter(|key| {
                all.of(key)
                    .remove(**key)
                    .is_some_and(|entry| entry.expires_at.is_none_or(|at| at > now))
            })
            .count()
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
        let mut all = store.all();
        keys.iter().filter(|key| live(all.of(key), key).is_some()).count()
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
        let mut store = store.of(key);
        let number = match live(&mut store, key) {
            None => 0,
            Some(entry) => {
                resp::number(&entry.value).ok_or("ERR value is not an integer or out of range")?
            }
        };
        let sum =
            number.checked_add(increment).ok_or("ERR increment or decrement would overflow")?;
        // The key keeps its expiry, as in Redis.
        match live(&mut store, key) {
            Some(entry) => entry.value = sum.to_string().into_bytes(),
            None => drop(store.insert(key.to_vec(), Entry::new(sum.to_string().as_bytes()))),
        }
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
        let mut store = store.of(key);
        match live(&mut store, key) {
            Some(entry) => {
                entry.value.extend_from_slice(value);
                entry.value.len()
            }
            None => {
                store.insert(key.to_vec(), Entry::new(value));
                value.len()
            }
        }
    });
    resp::integer(out, len as i64);
}

/// `STRLEN key`
#[dsu::updateable]
pub fn strlen(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_, key] = args else { return resp::wrong_arity(out, "strlen") };
    let len =
        STORE.with(|store| live(&mut store.of(key), key).map_or(0, |entry| entry.value.len()));
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
        let mut all = store.all();
        for key in keys {
            match live(all.of(key), key) {
                Some(entry) => resp::bulk(out, &entry.value),
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
        let mut all = store.all();
        for pair in pairs.chunks_exact(2) {
            all.of(pair[0]).insert(pair[0].to_vec(), Entry::new(pair[1]));
        }
    });
    resp::ok(out);
}

/// `KEYS pattern`: every key that matches the glob-style pattern (`*`, `?`, `[abc]`, `[^a-z]`,
/// `\x`).
#[dsu::updateable]
pub fn keys(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_, pattern] = args else { return resp::wrong_arity(out, "keys") };
    let found: Vec<Vec<u8>> = STORE.with(|store| {
        let now = now();
        let mut found = Vec::new();
        for map in store.all().maps() {
            map.retain(|_, entry| entry.expires_at.is_none_or(|at| at > now));
            found.extend(map.keys().filter(|key| glob(pattern, key)).cloned());
        }
        found
    });
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

/// `EXPIRE key seconds`: 1 if the key now expires after that time, 0 if there is no such key.
/// A time that is not positive removes the key.
#[dsu::updateable]
pub fn expire(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_, key, seconds] = args else { return resp::wrong_arity(out, "expire") };
    match resp::number(seconds).and_then(|seconds| seconds.checked_mul(1000)) {
        Some(after) => expire_after(key, after, "expire", out),
        None => resp::error(out, "ERR value is not an integer or out of range"),
    }
}

/// `PEXPIRE key milliseconds`
#[dsu::updateable]
pub fn pexpire(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_, key, milliseconds] = args else { return resp::wrong_arity(out, "pexpire") };
    match resp::number(milliseconds) {
        Some(after) => expire_after(key, after, "pexpire", out),
        None => resp::error(out, "ERR value is not an integer or out of range"),
    }
}

/// Makes `key` expire `after` milliseconds from now; `command` names the command in errors.
#[dsu::updateable]
pub fn expire_after(key: &[u8], after: i64, command: &str, out: &mut Vec<u8>) {
    // A time that is not positive removes the key.
    let at = match after {
        ..=0 => None,
        _ => match deadline(after) {
            Some(at) => Some(at),
            None => {
                return resp::error(out, &format!("ERR invalid expire time in '{command}' command"))
            }
        },
    };
    let done = STORE.with(|store| {
        let mut store = store.of(key);
        let Some(entry) = live(&mut store, key) else { return false };
        match at {
            Some(at) => entry.expires_at = Some(at),
            None => drop(store.remove(key)),
        }
        true
    });
    resp::integer(out, i64::from(done));
}

/// `TTL key`: the seconds left until the key expires, -1 if it does not, -2 if there is no key.
#[dsu::updateable]
pub fn ttl(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_, key] = args else { return resp::wrong_arity(out, "ttl") };
    let left = time_left(key);
    // Rounded to the nearest second, as in Redis.
    resp::integer(out, if left < 0 { left } else { left.saturating_add(500) / 1000 });
}

/// `PTTL key`: as `TTL`, in milliseconds.
#[dsu::updateable]
pub fn pttl(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_, key] = args else { return resp::wrong_arity(out, "pttl") };
    resp::integer(out, time_left(key));
}

/// The milliseconds left until `key` expires; -1 if it does not, -2 if there is no such key.
#[dsu::updateable]
pub fn time_left(key: &[u8]) -> i64 {
    STORE.with(|store| match live(&mut store.of(key), key) {
        None => -2,
        Some(Entry { expires_at: None, .. }) => -1,
        Some(Entry { expires_at: Some(at), .. }) => at.saturating_sub(now()) as i64,
    })
}

/// `PERSIST key`: 1 if the key had an expiry and now has none, else 0.
#[dsu::updateable]
pub fn persist(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_, key] = args else { return resp::wrong_arity(out, "persist") };
    let removed = STORE.with(|store| {
        live(&mut store.of(key), key).and_then(|entry| entry.expires_at.take()).is_some()
    });
    resp::integer(out, i64::from(removed));
}

/// `INFO [section]`: what the server runs and counts, in the sections `server`, `clients`,
/// `stats` and `keyspace` (all of them by default), as `name:value` lines.
#[dsu::updateable]
pub fn info(args: &[&[u8]], out: &mut Vec<u8>) {
    let wanted = match args {
        [_] => None,
        [_, section] => Some(String::from_utf8_lossy(section).to_ascii_lowercase()),
        _ => return resp::wrong_arity(out, "info"),
    };
    let show = |section: &str| {
        wanted
            .as_deref()
            .is_none_or(|wanted| matches!(wanted, "all" | "everything") || wanted == section)
    };
    let mut text = String::new();
    if show("server") {
        let status = dsu::status();
        let chain: Vec<&str> =
            status.versions.iter().map(|version| version.label.as_str()).collect();
        let started = status.versions.first().map(|first| first.applied_at);
        let uptime = started.and_then(|started| started.elapsed().ok()).unwrap_or_default();
        let _ = write!(
            text,
            "# Server\r\nkvstore_version:{}\r\nversions:{}\r\nprocess_id:{}\r\nuptime_in_seconds:{}\r\n\r\n",
            chain.last().unwrap_or(&""),
            chain.join(" -> "),
            std::process::id(),
            uptime.as_secs()
        );
    }
    if show("clients") {
        let clients = CLIENTS.with(|clients| clients.load(Ordering::Relaxed));
        let _ = write!(
            text,
            "# Clients\r\nconnected_clients:{clients}\r\nmaxclients:{MAX_CLIENTS}\r\n\r\n"
        );
    }
    if show("stats") {
        let [commands, connections, hits, misses] = STATS.with(|stats| {
            [&stats.commands, &stats.connections, &stats.hits, &stats.misses]
                .map(|counter| counter.load(Ordering::Relaxed))
        });
        let _ = write!(
            text,
            "# Stats\r\ntotal_connections_received:{connections}\r\ntotal_commands_processed:{commands}\r\nkeyspace_hits:{hits}\r\nkeyspace_misses:{misses}\r\n\r\n"
        );
    }
    if show("keyspace") {
        let (mut keys, mut expires) = (0, 0);
        STORE.with(|store| {
            store.each(|map| {
                keys += map.len();
                expires += map.values().filter(|entry| entry.expires_at.is_some()).count();
            })
        });
        let _ = write!(text, "# Keyspace\r\ndb0:keys={keys},expires={expires}\r\n");
    }
    resp::bulk(out, text.trim_end().as_bytes());
}

/// `DBSIZE`
#[dsu::updateable]
pub fn dbsize(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_] = args else { return resp::wrong_arity(out, "dbsize") };
    let len = STORE.with(|store| store.all().maps().map(|map| map.len()).sum::<usize>());
    resp::integer(out, len as i64);
}

/// `FLUSHALL`, `FLUSHDB`: remove every key.
#[dsu::updateable]
pub fn flushall(args: &[&[u8]], out: &mut Vec<u8>) {
    let [_] = args else { return resp::wrong_arity(out, "flushall") };
    STORE.with(|store| store.all().maps().for_each(|map| map.clear()));
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

/// `CLIENT ID`, `CLIENT GETNAME`, `CLIENT SETNAME name`, `CLIENT INFO`: the connection's own
/// session.
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
        ("info", []) => session.with(|session| {
            let mut info = String::new();
            let name = String::from_utf8_lossy(&session.name);
            let last = String::from_utf8_lossy(&session.last_command);
            let _ = writeln!(
                info,
                "id={} name={name} tot-cmds={} cmd={last}",
                session.id, session.commands
            );
            resp::bulk(out, info.as_bytes());
        }),
        ("id" | "getname" | "setname" | "info", _) => {
            resp::wrong_arity(out, &format!("client|{subcommand}"))
        }
        _ => resp::error(
            out,
            &format!("ERR unknown subcommand '{subcommand}'. Try CLIENT HELP."),
        ),
    }
}
