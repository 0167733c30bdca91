//! Each connection's session: the id the server gave the client, the name the client gave
//! itself (`CLIENT SETNAME`) and, from version 6 on, what it asked for. A session lives in a
//! state cell on the frame of the connection's loop (`server::Connection`): the update to
//! version 6 converts every open connection's session where it is, and the next turn of each
//! loop runs this version's code on it.

use std::sync::atomic::{AtomicU64, Ordering};

/// The id the next connection gets: ids are never reused while the server runs.
#[dsu::updateable]
pub static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// What the server knows of one client. Version 5's type had the id and the name: the update
/// keeps both, and the counts start at zero (a derived conversion: each new field starts at its
/// `Default`).
#[dsu::updateable(was = crate::v5::session::Session)]
#[derive(Default)]
pub struct Session {
    /// `CLIENT ID`.
    pub id: u64,
    /// `CLIENT SETNAME`: empty until the client names itself.
    pub name: Vec<u8>,
    /// Requests answered since the session began, or since version 6 came.
    pub commands: u64,
    /// The last command asked for, in lower case.
    pub last_command: Vec<u8>,
}

/// The session of a connection that just opened. Updateable, so that a loop of an old version
/// makes its sessions with the running version's code and type.
#[dsu::updateable]
pub fn open() -> dsu::State<Session> {
    let id = NEXT_ID.with(|next| next.fetch_add(1, Ordering::Relaxed));
    dsu::State::new(Session { id, ..Session::default() })
}
