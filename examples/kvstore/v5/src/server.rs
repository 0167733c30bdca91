//! The connection loops: accepting clients, and serving each client on a thread of its own.
//!
//! A loop never changes its own code: each turn of it calls an updateable function
//! (`accept_client`, `serve_turn`), so a client connected for hours gets each new version at
//! its next request.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use crate::commands;
use crate::resp::{self, Parsed, Progress};
use crate::session::{self, Session};

/// How much a connection reads at once, and keeps buffered while idle.
const BUFFER: usize = 16 * 1024;

/// How many clients are connected now.
#[dsu::updateable]
pub static CLIENTS: AtomicUsize = AtomicUsize::new(0);

/// A client's connection: what its loop keeps from one turn to the next.
///
/// Its layout is part of the signature of `serve_turn`, which every open connection calls on
/// each turn. A version that changed it would make `serve_turn` a new function, one that the
/// connections already open never call: keep it as it is.
#[derive(dsu::Fingerprint)]
pub struct Connection {
    stream: TcpStream,
    /// Requests read and not yet answered are `input[..filled]`.
    input: Vec<u8>,
    filled: usize,
    /// How far the parse of the last request, not whole yet, got.
    progress: Progress,
    /// Replies not yet written.
    output: Vec<u8>,
    /// What the client told the server about itself. A state cell: its type may change from
    /// version to version, and an update converts it where it is, while `Connection` keeps its
    /// layout (a cell's fingerprint is its type's name alone).
    session: dsu::State<Session>,
}

/// Accepts one client and serves it on a thread of its own.
#[dsu::updateable]
pub fn accept_client(listener: &TcpListener) {
    match listener.accept() {
        Ok((stream, _)) => {
            let serve = thread::Builder::new().name("client".to_owned());
            if let Err(error) = serve.spawn(move || serve_connection(stream)) {
                eprintln!("kvstore: cannot start a thread for a client: {error}");
            }
        }
        Err(error) => {
            eprintln!("kvstore: accept failed: {error}");
            // Out of file descriptors, say: let the clients that are done hang up.
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Serves one client until it hangs up.
#[dsu::updateable]
pub fn serve_connection(stream: TcpStream) {
    let mut connection = Connection {
        stream,
        input: vec![0; BUFFER],
        filled: 0,
        progress: Progress::default(),
        output: Vec::with_capacity(BUFFER),
        session: session::open(),
    };
    if !client_connected() {
        let _ = connection.stream.write_all(b"-ERR max number of clients reached\r\n");
        return;
    }
    let _ = connection.stream.set_nodelay(true);
    while serve_turn(&mut connection) {}
    client_disconnected();
}

/// Reads what the client sent, answers every whole request in it (clients may send many
/// before they read a reply) and writes the replies. False once the connection is to close.
#[dsu::updateable]
pub fn serve_turn(connection: &mut Connection) -> bool {
    let Connection { stream, input, filled, progress, output, session } = connection;
    if *filled == input.len() {
        // A request longer than the buffer: make room for the rest of it.
        input.resize(input.len() * 2, 0);
    }
    match stream.read(&mut input[*filled..]) {
        Ok(0) | Err(_) => return false,
        Ok(read) => *filled += read,
    }
    let mut consumed = 0;
    let mut open = true;
    while consumed < *filled {
        match resp::parse(&input[consumed..*filled], progress) {
            Parsed::Request(args, used) => {
                consumed += used;
                match args.first() {
                    None => {}
                    Some(command) if command.eq_ignore_ascii_case(b"QUIT") => {
                        resp::ok(output);
                        open = false;
                        break;
                    }
                    Some(_) => answer(session, &args, output),
                }
            }
            Parsed::Incomplete => break,
            Parsed::Invalid(reason) => {
                resp::error(output, &format!("ERR Protocol error: {reason}"));
                open = false;
                break;
            }
        }
    }
    input.copy_within(consumed..*filled, 0);
    *filled -= consumed;
    if input.len() > BUFFER && *filled <= BUFFER {
        // The long request is answered: give its memory back.
        input.truncate(BUFFER);
        input.shrink_to_fit();
    }
    let written = stream.write_all(output).is_ok();
    output.clear();
    output.shrink_to(BUFFER);
    written && open
}

/// Answers one request. A command that panics answers an error, and the connection goes on.
fn answer(session: &mut dsu::State<Session>, args: &[&[u8]], output: &mut Vec<u8>) {
    let start = output.len();
    let executed =
        panic::catch_unwind(AssertUnwindSafe(|| commands::execute(session, args, output)));
    if executed.is_err() {
        output.truncate(start);
        resp::error(output, "ERR internal error, see the server's log");
    }
}

/// Counts a client in, if there is room for it.
#[dsu::updateable]
pub fn client_connected() -> bool {
    const MAX_CLIENTS: usize = 10_000;
    CLIENTS.with(|clients| {
        let admitted = clients.fetch_add(1, Ordering::Relaxed) < MAX_CLIENTS;
        if !admitted {
            clients.fetch_sub(1, Ordering::Relaxed);
        }
        admitted
    })
}

/// Counts a client out.
#[dsu::updateable]
pub fn client_disconnected() {
    CLIENTS.with(|clients| clients.fetch_sub(1, Ordering::Relaxed));
}
