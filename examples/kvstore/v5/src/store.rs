//! The data: the keys and their entries, shared by every connection, in sixteen maps with a
//! lock each, so that connections working on different keys seldom wait for each other. An
//! entry is a value and when it expires.

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

/// Every key and its entry. Version 4 kept them in one map behind one lock: the update deals
/// them out to the shards.
#[dsu::updateable(was = Mutex<HashMap<Vec<u8>, Entry>>)]
pub static STORE: Shards = Shards::new();

/// The keys and their entries: each key in the map its hash picks.
#[derive(dsu::Fingerprint)]
pub struct Shards {
    maps: Vec<Mutex<HashMap<Vec<u8>, Entry>>>,
}

/// How many maps the keys are dealt to: a power of two.
const SHARDS: usize = 16;

/// Version 4's map, dealt out to the shards.
#[dsu::transform]
fn shard(old: &Mutex<HashMap<Vec<u8>, Entry>>) -> Shards {
    let shards = Shards::new();
    for (key, entry) in lock(old).iter() {
        let entry = Entry { value: entry.value.clone(), expires_at: entry.expires_at };
        shards.of(key).insert(key.clone(), entry);
    }
    shards
}

impl Shards {
    fn new() -> Shards {
        Shards { maps: (0..SHARDS).map(|_| Mutex::default()).collect() }
    }

    /// The map that holds `key`, locked.
    pub fn of(&self, key: &[u8]) -> MutexGuard<'_, HashMap<Vec<u8>, Entry>> {
        lock(&self.maps[shard_of(key)])
    }

    /// Every map, locked: for a command on many keys, which sees and changes them all at once.
    /// The locks are taken in one order, so two such commands never wait for each other.
    pub fn all(&self) -> AllShards<'_> {
        AllShards(self.maps.iter().map(lock).collect())
    }
}

/// Every map of the store, locked.
pub struct AllShards<'a>(Vec<MutexGuard<'a, HashMap<Vec<u8>, Entry>>>);

impl<'a> AllShards<'a> {
    /// The map that holds `key`.
    pub fn of(&mut self, key: &[u8]) -> &mut HashMap<Vec<u8>, Entry> {
        &mut self.0[shard_of(key)]
    }

    /// Every map.
    pub fn maps(&mut self) -> std::slice::IterMut<'_, MutexGuard<'a, HashMap<Vec<u8>, Entry>>> {
        self.0.iter_mut()
    }
}

/// The shard of a key: FNV-1a, which is fixed, so that a key stays in its shard for good. Its
/// top bits, which every bit of every byte reaches (the low bits of a product depend only on
/// the low bits of its factors).
fn shard_of(key: &[u8]) -> usize {
    let hash = key.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    (hash >> (64 - SHARDS.trailing_zeros())) as usize
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
