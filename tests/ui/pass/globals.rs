//! Updateable globals: public and private, with an initialiser that is not `const`, of a user
//! type that derives its fingerprint, inside a function body, and through a renamed path.

#![deny(warnings)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(dsu::Fingerprint)]
pub struct Limits {
    pub per_client: u32,
}

#[dsu::updateable]
pub static HITS: AtomicU64 = AtomicU64::new(0);

#[dsu::updateable]
static SESSIONS: Mutex<HashMap<String, u64>> = Mutex::new(HashMap::new());

#[dsu::updateable(crate = ::dsu)]
pub static LIMITS: Limits = Limits { per_client: std::env::args().count() as u32 * 8 };

fn counted(name: &str) -> u64 {
    #[dsu::updateable]
    static LOCAL: AtomicU64 = AtomicU64::new(100);
    LOCAL.with(|local| local.fetch_add(1, Ordering::Relaxed));
    HITS.with(|hits| hits.fetch_add(1, Ordering::Relaxed));
    SESSIONS.with(|sessions| {
        let mut sessions = sessions.lock().unwrap();
        let count = sessions.entry(name.to_owned()).or_default();
        *count += 1;
        *count
    })
}

fn main() {
    assert_eq!(counted("ann"), 1);
    assert_eq!(counted("ann"), 2);
    assert_eq!(counted("bob"), 1);
    assert_eq!(HITS.with(|hits| hits.load(Ordering::Relaxed)), 3);
    assert_eq!(LIMITS.with(|limits| limits.per_client), 8);
    // An access is a transaction: nested in one already open, it is part of it.
    dsu::transaction(|| assert_eq!(HITS.with(|hits| hits.load(Ordering::Relaxed)), 3));
}
