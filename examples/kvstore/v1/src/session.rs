//! Each connection's session: the id the server gave the client and the name the client gave
//! itself (`CLIENT SETNAME`). A session lives in a state cell on the frame of the connection's
//! loop (`server::Connection`), so an update that changes its type converts every open
//! connection's session, and the next turn of each loop runs the new code on it.

use std::sync::atomic::{AtomicU64, Ordering};

/// The id the next connection gets: ids are never reused while the server runs.
#[dsu::updateable]
pub static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// What the server knows of one client.
#[dsu::updateable]
#[derive(Default)]
pub struct Session {
    /// `CLIENT ID`.
    pub id: u64,
    /// `CLIENT SETNAME`: empty until the client names itself.
    pub name: Vec<u8>,
}

/// The session of a connection that just opened. Updateable, so that a loop of an old version
/// makes its sessions with the running version's code and type.
#[dsu::updateable]
pub fn open() -> dsu::State<Session> {
    let id = NEXT_ID.with(|next| next.fetch_add(1, Ordering::Relaxed));
    dsu::State::new(Session { id, name: Vec::new() })
}
