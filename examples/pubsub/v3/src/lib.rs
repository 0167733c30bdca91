//! pubsub: a publish/subscribe broker on tokio that speaks the protocol of Redis (RESP2), so
//! that `redis-cli`, `redis-benchmark` and the Redis client libraries can use it, and that is
//! updated while it runs, subscribers included.
//!
//! Version 1 knows `PING`, `SUBSCRIBE`, `UNSUBSCRIBE`, `PUBLISH`, `CLIENT ID`, `CLIENT INFO`,
//! `CONFIG GET` and `QUIT`, and publishes its counts on `$SYS/broker`. Version 2 fixes
//! `SUBSCRIBE`, whose count was the channel's place in the command, not how many channels the
//! connection listens to. Version 3 adds `PUBSUB CHANNELS` and `PUBSUB NUMSUB`.
//!
//! The rules that make it updateable:
//!
//! * the broker shares its dependencies with its patches (`docs/sharing.md`): a patch's code
//!   reads the program's sockets and sleeps on its timers;
//! * every loop (accepting clients, serving each, the `$SYS` announcer) awaits an updateable
//!   `async fn` per turn, whose wait for the client, a message or the timer is in no
//!   transaction;
//! * answering one request is an async transaction (`commands::execute`);
//! * the broker's state (`broker::Broker`) and each connection's session
//!   (`session::Session`) are state cells: a version that changes their type converts them
//!   where they are;
//! * code after an `.await` reaches the cells through updateable calls, which run the version
//!   whose type they have;
//! * what every open connection passes to its turn (`server::Connection`) keeps its layout.
//!
//! The operator updates the broker through `admin`, a port of its own.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;

// Links the shared dependencies, in the program and in every patch.
extern crate pubsub_shared;

mod admin;
mod broker;
mod commands;
mod resp;
mod server;
mod session;
mod stats;

dsu::patch!();

/// Serves clients on `service` and the operator on `admin` until the process ends.
///
/// Not updateable: it never returns, so a new version could never take over. It makes the
/// broker and starts the loops.
pub async fn run(service: TcpListener, admin: TcpListener, patch_dir: PathBuf) {
    tokio::spawn(admin::serve(admin, patch_dir));
    let broker = Arc::new(broker::open());
    tokio::spawn(stats::announce_forever(Arc::clone(&broker)));
    loop {
        server::accept_client(&service, &broker).await;
    }
}
