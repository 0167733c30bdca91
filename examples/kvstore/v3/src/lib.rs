//! kvstore: a key-value server that speaks the protocol of Redis (RESP2), so that `redis-cli`,
//! `redis-benchmark` and every Redis client library can use it, and that is updated while it
//! runs, connections and data included.
//!
//! Version 1 knew `PING`, `ECHO`, `GET`, `SET`, `DEL`, `EXISTS`, `DBSIZE`, `FLUSHALL`,
//! `FLUSHDB`, `CONFIG GET`, `COMMAND`, `CLIENT ID`, `CLIENT GETNAME`, `CLIENT SETNAME` and
//! `QUIT`. Version 2 added `INCR`, `DECR`, `INCRBY`,
//! `DECRBY`, `APPEND`, `STRLEN`, `MGET`, `MSET` and `KEYS`. Version 3 fixes `INCR` and its
//! kin, which took a value that is not a number for 0.
//!
//! The rules that make it updateable:
//!
//! * every command handler is `#[dsu::updateable]`: the next call after an update runs the new
//!   version's body;
//! * answering one request is a transaction (`commands::execute`): a request runs in one
//!   version, even when an update lands in the middle of it;
//! * the data is an updateable global (`store::STORE`): it lives on through every update, and
//!   a version that changes its type says how to convert it;
//! * a loop never changes its own code, so no loop does real work: each turn calls an
//!   updateable function (`server::accept_client`, `server::serve_turn`,
//!   `admin::accept_admin`);
//! * what every open connection passes to its loop (`server::Connection`) keeps its layout;
//! * what the server knows of each client (`session::Session`: its id and name) is in a state
//!   cell in that struct: a version that changes its type says how to convert it, and the update
//!   converts every open connection's session where it is.
//!
//! The operator updates the server through `admin`, a Unix socket.

use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::thread;

mod admin;
mod commands;
mod json;
mod resp;
mod server;
mod session;
mod store;

dsu::patch!();

/// Serves clients on `service` and the operator on `admin` until the process ends.
///
/// Not updateable: it never returns, so a new version could never take over. It only starts
/// the two loops.
pub fn run(service: TcpListener, admin: UnixListener, patch_dir: PathBuf) -> ! {
    let operator = thread::Builder::new().name("admin".to_owned());
    operator
        .spawn(move || loop {
            admin::accept_admin(&admin, &patch_dir);
        })
        .expect("a thread for the admin socket");
    loop {
        server::accept_client(&service);
    }
}
