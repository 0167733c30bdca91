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
