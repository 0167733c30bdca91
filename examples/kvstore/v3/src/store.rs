//! The data: one map from key to value, shared by every connection.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Every key and its value. An updateable global: it lives on through every update, and a
/// version that changes its type says how to convert it.
#[dsu::updateable]
pub static STORE: Mutex<HashMap<Vec<u8>, Vec<u8>>> = Mutex::new(HashMap::new());

/// Locks a map. A handler that panicked while holding the lock left no half-made change (each
/// change is one map operation), so the lock is taken all the same.
pub fn lock<T>(map: &Mutex<T>) -> MutexGuard<'_, T> {
    map.lock().unwrap_or_else(PoisonError::into_inner)
}
