//! The connection loops: accepting clients, and serving each client in a task of its own.
//!
//! A loop never changes its own code: each turn of it awaits an updateable `async fn`
//! (`accept_client`, `serve_turn`). A turn's future finishes in the version it started in, and
//! the next turn's call reaches the newest, so a subscriber connected for hours gets each new
//! version at its next message. A turn waits for the client or for a message outside any
//! transaction, so an idle connection delays no update; what it does once something came, it
//! does through updateable calls, which reach the version that runs by then.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

use crate::broker::{Broker, Push};
use crate::commands::{self, Flow};
use crate::resp::{self, Parsed};
use crate::session::{self, Session};

/// How much a connection reads at once.
const BUFFER: usize = 16 * 1024;

/// How many messages a turn writes at most.
const MESSAGES_PER_WRITE: usize = 256;

/// A client's connection: what its loop keeps from one turn to the next.
///
/// Its layout is part of the signature of `serve_turn`, which every open connection calls on
/// each turn: keep it as it is. What may change is in the session, a state cell.
#[derive(dsu::Fingerprint)]
pub struct Connection {
    stream: TcpStream,
    /// Bytes read and not yet parsed into requests.
    input: Vec<u8>,
    /// Replies and messages not yet written.
    output: Vec<u8>,
    /// The messages of the channels it subscribed to, and the sender the broker gets a copy
    /// of at each `SUBSCRIBE`.
    inbox: UnboundedReceiver<Push>,
    outbox: UnboundedSender<Push>,
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
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

/// Serves one client until it hangs up.
#[dsu::updateable]
pub async fn serve(stream: TcpStream, broker: Arc<dsu::State<Broker>>) {
    let (outbox, inbox) = mpsc::unbounded_channel();
    let mut connection = Connection {
        stream,
        input: Vec::with_capacity(BUFFER),
        output: Vec::with_capacity(BUFFER),
        inbox,
        outbox,
        session: session::open(&broker),
    };
    while serve_turn(&mut connection, &broker).await {}
    session::close(&broker, connection.session);
}

/// Waits for a request or a message, answers every whole request read (clients may send many
/// before they read a reply) or writes the message, and flushes. False once the connection is
/// to close.
#[dsu::updateable]
pub async fn serve_turn(connection: &mut Connection, broker: &dsu::State<Broker>) -> bool {
    let Connection { stream, input, output, inbox, outbox, session } = connection;
    if input.capacity() - input.len() < BUFFER / 4 {
        input.reserve(BUFFER);
    }
    // Both are cancel safe: the one that loses the race took nothing.
    let mut open = tokio::select! {
        read = stream.read_buf(input) => matches!(read, Ok(read) if read > 0),
        Some(push) = inbox.recv() => {
            commands::deliver(session, &push, output);
            // The messages that came meanwhile go out in the same write.
            for _ in 0..MESSAGES_PER_WRITE {
                let Ok(push) = inbox.try_recv() else { break };
                commands::deliver(session, &push, output);
            }
            true
        }
    };
    let mut consumed = 0;
    while open && consumed < input.len() {
        match resp::parse(&input[consumed..]) {
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
    let written = stream.write_all(output).await.is_ok();
    output.clear();
    output.shrink_to(BUFFER);
    written && open
}
