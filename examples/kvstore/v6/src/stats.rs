//! What the server counts, for `INFO`.

use std::sync::atomic::AtomicU64;

/// Counters, from the moment version 6 was applied on: a global that version 6 adds starts
/// with its initial value.
#[derive(dsu::Fingerprint)]
pub struct Stats {
    /// Requests answered.
    pub commands: AtomicU64,
    /// Clients accepted.
    pub connections: AtomicU64,
    /// `GET`s that found their key.
    pub hits: AtomicU64,
    /// `GET`s that did not.
    pub misses: AtomicU64,
}

#[dsu::updateable]
pub static STATS: Stats = Stats {
    commands: AtomicU64::new(0),
    connections: AtomicU64::new(0),
    hits: AtomicU64::new(0),
    misses: AtomicU64::new(0),
};
