//! The connection loops: accepting clients, and serving each client in a task of its own.
//!
//! A loop never changes its own code: each turn of it awaits an updateable `async fn`
//! (`accept_client`, `serve_turn`). A turn's future finishes in the version it started in, and
//! the next turn's call reaches the newest, so a subscriber connected for hours gets each new
//! version at its next message. A turn waits for the client or for a message outside any
//! transaction, so an idle connection delays no update; what it does once something came, it
//! does through updateable calls, which reach the version that runs by then.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{self, UnboundedReceiver};

use crate::broker::{Broker, Outbox, Push};
use crate::commands::{self, Flow};
use crate::resp::{self, Parsed, Progress};
use crate::session::{self, Session};

/// How much a connection reads at once.
const BUFFER: usize = 16 * 1024;

/// How much a turn gathers to write before it leaves the requests and messages beyond for the
/// next turn.
const OUTPUT_LIMIT: usize = 1 << 20;

/// How long a turn waits for the client to take any of what it writes. A client that takes
/// nothing for longer is too slow, and is cut off.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// A client's connection: what its loop keeps from one turn to the next.
///
/// Its layout is part of the signature of `serve_turn`, which every open connection calls on
/// each turn: keep it as it is. What may change is in the session, a state cell.
#[derive(dsu::Fingerprint)]
pub struct Connection {
    stream: TcpStream,
    /// Bytes read and not yet parsed into requests, and how far the parse of the first got.
    input: Vec<u8>,
    progress: Progress,
    /// Whether `input` may hold whole requests that the last turn left for this one.
    more: bool,
    /// Replies and messages not yet written.
    output: Vec<u8>,
    /// The messages of the channels it subscribed to, and the outbox the broker gets a copy
    /// of at each `SUBSCRIBE`.
    inbox: UnboundedReceiver<Push>,
    outbox: Outbox,
    session: dsu::State<Session>,
}

/// Accepts one client and serves it in a task of its own.
#[dsu::updateable]
pub async fn accept_client(listener: &TcpListener, broker: &Arc<dsu::State<Broker>>) {
    match listener.accept().await {
        Ok((stream, _)) => {
            let _ = stream.set_nodelay(true);
            tokio::spawn(serve(stream, Arc::clone(broker)));
        }
        Err(error) => {
            eprintln!("pubsub: accept failed: {error}");
            // Out of file descriptors, say: let the clients that are done hang up.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Serves one client until it hangs up, or is cut off.
#[dsu::updateable]
pub async fn serve(stream: TcpStream, broker: Arc<dsu::State<Broker>>) {
    let (messages, inbox) = mpsc::unbounded_channel();
    let connection = Connection {
        stream,
        input: Vec::with_capacity(BUFFER),
        progress: Progress::default(),
        more: false,
        output: Vec::with_capacity(BUFFER),
        inbox,
        outbox: Outbox::new(messages),
        session: session::open(&broker),
    };
    // Closes the session however the loop ends, a panic included.
    let mut open = Open { broker: &broker, connection };
    while serve_turn(&mut open.connection, &broker).await {}
}

/// A connection whose session is still open: dropped, it closes it.
struct Open<'a> {
    broker: &'a dsu::State<Broker>,
    connection: Connection,
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        session::close(self.broker, &self.connection.session);
    }
}

/// Waits for a request or a message, unless the last turn left whole requests, answers every
/// whole request read (clients may send many before they read a reply) or writes the
/// messages, and flushes. False once the connection is to close.
#[dsu::updateable]
pub async fn serve_turn(connection: &mut Connection, broker: &dsu::State<Broker>) -> bool {
    let Connection { stream, input, progress, more, output, inbox, outbox, session } = connection;
    if !*more {
        if input.capacity() - input.len() < BUFFER / 4 {
            input.reserve(BUFFER);
        }
        // Both are cancel safe: the one that loses the race took nothing.
        let open = tokio::select! {
            read = stream.read_buf(input) => matches!(read, Ok(read) if read > 0),
            Some(push) = inbox.recv() => {
                commands::deliver(session, outbox, &push, output);
                // The messages that came meanwhile go out in the same write.
                while output.len() < OUTPUT_LIMIT {
                    let Ok(push) = inbox.try_recv() else { break };
                    commands::deliver(session, outbox, &push, output);
                }
                true
            }
        };
        if !open {
            return false;
        }
    }
    let mut open = true;
    let mut consumed = 0;
    *more = false;
    while open && consumed < input.len() {
        if output.len() >= OUTPUT_LIMIT {
            *more = true;
            break;
        }
        match resp::parse(&input[consumed..], progress) {
            Parsed::Request(args, used) => {
                consumed += used;
                if args.is_empty() {
                    continue;
                }
                open =
                    commands::execute(&args, broker, session, outbox, output).await == Flow::Open;
            }
            Parsed::Incomplete => break,
            Parsed::Invalid(reason) => {
                resp::error(output, &format!("ERR Protocol error: {reason}"));
                open = false;
            }
        }
    }
    input.drain(..consumed);
    if input.capacity() > 4 * BUFFER && input.len() <= BUFFER {
        input.shrink_to(BUFFER);
    }
    let written = write(stream, output).await;
    output.clear();
    output.shrink_to(BUFFER);
    // A subscriber whose messages piled up beyond the broker's limit was dropped from its
    // channels, and missed messages: it must not go on as if it had not.
    let evicted = outbox.evicted.load(Ordering::Relaxed);
    written && open && !evicted
}

/// Writes all of `output`, unless the client takes nothing of it for `WRITE_TIMEOUT`.
async fn write(stream: &mut TcpStream, output: &[u8]) -> bool {
    let mut written = 0;
    while written < output.len() {
        match tokio::time::timeout(WRITE_TIMEOUT, stream.write(&output[written..])).await {
            Ok(Ok(wrote)) if wrote > 0 => written += wrote,
            _ => return false,
        }
    }
    true
}
