//! The commands: `execute`, one transaction per request, and one updateable handler per
//! command. A request runs in one version, even when an update lands while it runs.
//!
//! Version 1 knew `PING`, `SUBSCRIBE`, `UNSUBSCRIBE`, `PUBLISH`, `CLIENT ID`, `CLIENT INFO`,
//! `CONFIG GET` and `QUIT`; version 3 adds `PUBSUB CHANNELS` and `PUBSUB NUMSUB`. Unlike Redis, a connection that subscribed may send any command.

use std::collections::BTreeSet;

use crate::broker::{self, Broker, Outbox, Push};
use crate::resp;
use crate::session::Session;

/// The most channels one connection subscribes to, and the longest name of one.
const MAX_CHANNELS: usize = 10_000;
const MAX_CHANNEL_NAME: usize = 1024;

/// Whether the connection stays open after a request.
#[derive(dsu::Fingerprint, Clone, Copy, PartialEq, Eq, Debug)]
pub enum Flow {
    Open,
    Close,
}

/// Answers one request into `output`. An `async fn` and a transaction: the pattern of a handler
/// that awaits, although none of these does.
#[dsu::updateable]
#[dsu::transaction]
pub async fn execute(
    request: &[Vec<u8>],
    broker: &dsu::State<Broker>,
    session: &mut dsu::State<Session>,
    outbox: &Outbox,
    output: &mut Vec<u8>,
) -> Flow {
    let name = request[0].to_ascii_lowercase();
    let args = &request[1..];
    match name.as_slice() {
        b"ping" => ping(session, args, output),
        b"subscribe" => subscribe(broker, session, outbox, args, output),
        b"unsubscribe" => unsubscribe(broker, session, args, output),
        b"publish" => publish(broker, args, output),
        b"pubsub" => pubsub(broker, args, output),
        b"client" => client(session, args, output),
        b"config" => config(args, output),
        b"quit" => {
            resp::simple(output, "OK");
            return Flow::Close;
        }
        _ => unknown(&name, output),
    }
    Flow::Open
}

/// Writes a message that came for the connection, and counts it.
#[dsu::updateable]
pub fn deliver(
    session: &mut dsu::State<Session>,
    outbox: &Outbox,
    push: &Push,
    output: &mut Vec<u8>,
) {
    outbox.taken(push);
    output.extend_from_slice(push);
    session.with_mut(|session| session.delivered += 1);
}

/// `PING [message]`: `PONG`, or the message; a connection that subscribed gets both as a
/// push, as Redis answers it.
#[dsu::updateable]
pub fn ping(session: &mut dsu::State<Session>, args: &[Vec<u8>], output: &mut Vec<u8>) {
    if args.len() > 1 {
        return arity("ping", output);
    }
    if session.with(|session| session.channels.is_empty()) {
        match args.first() {
            Some(message) => resp::bulk(output, message),
            None => resp::simple(output, "PONG"),
        }
    } else {
        resp::array(output, 2);
        resp::bulk(output, b"pong");
        resp::bulk(output, args.first().map_or(&b""[..], Vec::as_slice));
    }
}

/// `SUBSCRIBE channel [channel ...]`: each is answered with `subscribe`, the channel, and how
/// many channels the connection listens to. A request that would take the connection beyond
/// `MAX_CHANNELS`, or names a channel longer than `MAX_CHANNEL_NAME`, is refused whole.
#[dsu::updateable]
pub fn subscribe(
    broker: &dsu::State<Broker>,
    session: &mut dsu::State<Session>,
    outbox: &Outbox,
    args: &[Vec<u8>],
    output: &mut Vec<u8>,
) {
    if args.is_empty() {
        return arity("subscribe", output);
    }
    if args.iter().any(|channel| channel.len() > MAX_CHANNEL_NAME) {
        let refusal = format!("ERR channel names are at most {MAX_CHANNEL_NAME} bytes long");
        return resp::error(output, &refusal);
    }
    session.with_mut(|session| {
        let new: BTreeSet<&Vec<u8>> =
            args.iter().filter(|channel| !session.channels.contains(*channel)).collect();
        if session.channels.len() + new.len() > MAX_CHANNELS {
            let refusal = format!("ERR a connection subscribes to at most {MAX_CHANNELS} channels");
            return resp::error(output, &refusal);
        }
        for channel in args {
            if session.channels.insert(channel.clone()) {
                broker::subscribe(broker, channel, session.id, outbox);
            }
            resp::array(output, 3);
            resp::bulk(output, b"subscribe");
            resp::bulk(output, channel);
            // Version 1 answered the channel's place in this command instead.
            resp::integer(output, session.channels.len() as u64);
        }
    })
}

/// `UNSUBSCRIBE [channel ...]`: from the channels given, or from all. Each is answered with
/// `unsubscribe`, the channel, and how many channels the connection still listens to.
#[dsu::updateable]
pub fn unsubscribe(
    broker: &dsu::State<Broker>,
    session: &mut dsu::State<Session>,
    args: &[Vec<u8>],
    output: &mut Vec<u8>,
) {
    session.with_mut(|session| {
        let channels: Vec<Vec<u8>> = if args.is_empty() {
            session.channels.iter().cloned().collect()
        } else {
            args.to_vec()
        };
        if channels.is_empty() {
            resp::array(output, 3);
            resp::bulk(output, b"unsubscribe");
            resp::null(output);
            resp::integer(output, 0);
        }
        for channel in channels {
            if session.channels.remove(&channel) {
                broker::unsubscribe(broker, &channel, session.id);
            }
            resp::array(output, 3);
            resp::bulk(output, b"unsubscribe");
            resp::bulk(output, &channel);
            resp::integer(output, session.channels.len() as u64);
        }
    })
}

/// `PUBLISH channel message`: how many subscribers it went to.
#[dsu::updateable]
pub fn publish(broker: &dsu::State<Broker>, args: &[Vec<u8>], output: &mut Vec<u8>) {
    let [channel, message] = args else { return arity("publish", output) };
    resp::integer(output, broker::publish(broker, channel, message));
}

/// The longest pattern `PUBSUB CHANNELS` takes: matching costs its length times each name's.
const MAX_PATTERN: usize = 256;

/// `PUBSUB CHANNELS [pattern]`: the channels that have subscribers, those whose name matches
/// the glob-style pattern if one is given (`*`, `?`, `\`); `PUBSUB NUMSUB [channel ...]`: each
/// channel given, with how many subscribe to it.
#[dsu::updateable]
pub fn pubsub(broker: &dsu::State<Broker>, args: &[Vec<u8>], output: &mut Vec<u8>) {
    let sub = args.first().map(|sub| sub.to_ascii_lowercase());
    match (sub.as_deref(), args.len()) {
        (Some(b"channels"), 2) if args[1].len() > MAX_PATTERN => {
            resp::error(output, &format!("ERR patterns are at most {MAX_PATTERN} bytes long"));
        }
        (Some(b"channels"), 1 | 2) => {
            let channels = broker::channels(broker, args.get(1).map(Vec::as_slice));
            resp::array(output, channels.len());
            for channel in channels {
                resp::bulk(output, &channel);
            }
        }
        (Some(b"numsub"), _) => {
            resp::array(output, 2 * (args.len() - 1));
            for channel in &args[1..] {
                resp::bulk(output, channel);
                resp::integer(output, broker::subscribers(broker, channel));
            }
        }
        (Some(b"channels"), _) | (None, _) => arity("pubsub", output),
        (Some(sub), _) => resp::error(
            output,
            &format!("ERR unknown subcommand '{}'. Try PUBSUB HELP.", String::from_utf8_lossy(sub)),
        ),
    }
}

/// `CLIENT ID` and `CLIENT INFO`.
#[dsu::updateable]
pub fn client(session: &mut dsu::State<Session>, args: &[Vec<u8>], output: &mut Vec<u8>) {
    let sub = args.first().map(|sub| sub.to_ascii_lowercase());
    match (sub.as_deref(), args.len()) {
        (Some(b"id"), 1) => resp::integer(output, session.with(|session| session.id)),
        (Some(b"info"), 1) => {
            let info = session.with(|session| {
                let Session { id, channels, delivered } = session;
                format!("id={id} sub={} delivered={delivered}", channels.len())
            });
            resp::bulk(output, info.as_bytes());
        }
        (Some(b"id" | b"info"), _) | (None, _) => arity("client", output),
        (Some(sub), _) => resp::error(
            output,
            &format!("ERR unknown subcommand '{}'. Try CLIENT HELP.", String::from_utf8_lossy(sub)),
        ),
    }
}

/// `CONFIG GET parameter`: the broker keeps nothing on disk, which is what `redis-benchmark`
/// asks about (`save`, `appendonly`). Other parameters have no value.
#[dsu::updateable]
pub fn config(args: &[Vec<u8>], output: &mut Vec<u8>) {
    let [sub, parameter] = args else { return arity("config", output) };
    if !sub.eq_ignore_ascii_case(b"get") {
        return resp::error(output, "ERR CONFIG takes GET only");
    }
    let value: &[u8] = match parameter.to_ascii_lowercase().as_slice() {
        b"save" => b"",
        b"appendonly" => b"no",
        _ => return resp::array(output, 0),
    };
    resp::array(output, 2);
    resp::bulk(output, parameter);
    resp::bulk(output, value);
}

fn unknown(name: &[u8], output: &mut Vec<u8>) {
    resp::error(output, &format!("ERR unknown command '{}'", String::from_utf8_lossy(name)));
}

fn arity(command: &str, output: &mut Vec<u8>) {
    resp::error(output, &format!("ERR wrong number of arguments for '{command}' command"));
}
