//! The data: one map from key to entry, shared by every connection. An entry is a value and
//! when it expires.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

/// A value, and when it expires, if it does.
#[derive(dsu::Fingerprint)]
pub struct Entry {
    pub value: Vec<u8>,
    /// In milliseconds since the Unix epoch.
    pub expires_at: Option<u64>,
}

/// Every key and its entry. Version 3 kept the bare values: the update converts each into an
/// entry that never expires.
#[dsu::updateable(was = Mutex<HashMap<Vec<u8>, Vec<u8>>>)]
pub static STORE: Mutex<HashMap<Vec<u8>, Entry>> = Mutex::new(HashMap::new());

/// A value of version 3 becomes an entry that never expires.
#[dsu::transform]
fn never_expires(value: &Vec<u8>) -> Entry {
    Entry { value: value.clone(), expires_at: None }
}

impl Entry {
    /// A value that never expires.
    pub fn new(value: &[u8]) -> Entry {
        Entry { value: value.to_vec(), expires_at: None }
    }
}

/// Locks a map. A handler that panicked while holding the lock left no half-made change (each
/// change is one map operation), so the lock is taken all the same.
pub fn lock<T>(map: &Mutex<T>) -> MutexGuard<'_, T> {
    map.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Now, in milliseconds since the Unix epoch.
pub fn now() -> u64 {
    let since_epoch = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    since_epoch.as_millis() as u64
}

/// When something due `after` milliseconds from now is due, if that is a time TTL can
/// answer about (within `i64` milliseconds since the epoch, as in Redis).
pub fn deadline(after: i64) -> Option<u64> {
    let at = i64::try_from(now()).ok()?.checked_add(after)?;
    u64::try_from(at).ok()
}

/// The entry of `key`, unless it has expired: an expired entry is removed. Keys expire when
/// a command touches them (or `KEYS` passes them); until then `DBSIZE` counts them, as in Redis.
pub fn live<'a>(store: &'a mut HashMap<Vec<u8>, Entry>, key: &[u8]) -> Option<&'a mut Entry> {
    if store.get(key)?.expires_at.is_some_and(|at| at <= now()) {
        store.remove(key);
        return None;
    }
    store.get_mut(key)
}
