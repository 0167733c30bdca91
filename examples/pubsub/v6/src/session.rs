//! Each connection's session: the id the broker gave it and the channels it listens to. A
//! session lives in a state cell on the frame of the connection's loop
//! (`server::Connection`); a version that changes its type converts every open connection's
//! session where it is, and the next turn of each loop runs that version's code on it.

use std::collections::BTreeSet;

use crate::broker::{self, Broker};

/// What the broker knows of one connection (the count since version 5).
#[dsu::updateable]
#[derive(Default)]
pub struct Session {
    /// `CLIENT ID`.
    pub id: u64,
    /// The channels it subscribed to.
    pub channels: BTreeSet<Vec<u8>>,
    /// The messages of those channels sent to it, since it connected or version 5 came.
    pub delivered: u64,
}

/// The session of a connection that just opened. Updateable, so that a loop of an old version
/// makes its sessions with the running version's code and type.
#[dsu::updateable]
pub fn open(broker: &dsu::State<Broker>) -> dsu::State<Session> {
    let id = broker::connected(broker);
    dsu::State::new(Session { id, ..Session::default() })
}

/// The end of a session: its connection closed. The connection drops the cell.
#[dsu::updateable]
pub fn close(broker: &dsu::State<Broker>, session: &dsu::State<Session>) {
    session.with(|session| broker::disconnected(broker, session.id, &session.channels));
}
