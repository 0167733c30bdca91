//! kvstore: a key-value server that speaks the protocol of Redis (RESP2), so that `redis-cli`,
//! `redis-benchmark` and every Redis client library can use it, and that is updated while it
//! runs, connections and data included.
//!
//! Version 1 knew `PING`, `ECHO`, `GET`, `SET`, `DEL`, `EXISTS`, `DBSIZE`, `FLUSHALL`,
//! `FLUSHDB`, `CONFIG GET`, `COMMAND`, `CLIENT ID`, `CLIENT GETNAME`, `CLIENT SETNAME` and
//! `QUIT`. Version 2 added `INCR`, `DECR`, `INCRBY`,
//! `DECRBY`, `APPEND`, `STRLEN`, `MGET`, `MSET` and `KEYS`. Version 3 fixed `INCR` and its
//! kin, which took a value that is not a number for 0. Version 4 let keys expire: `SET` takes
//! `EX`, `PX`, `NX` and `XX`, and `EXPIRE`, `PEXPIRE`, `TTL`, `PTTL` and `PERSIST` were new. The
//! store's entries gained an expiry time, and the update converted every entry. Version 5 dealt
//! the keys out to sixteen
//! maps with a lock each, so that connections seldom wait for each
//! other; the update moved every entry to its map. Version 6 adds `INFO`, with counters that
//! start at the update, and `CLIENT INFO`: each session counts its commands, and the update
//! converts every open connection's session to the type that does.
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
mod stats;
mod store;

dsu::patch!();

// The running release's types, which this one's conversions start from.
dsu::base!(v5 = "../../v5");

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
