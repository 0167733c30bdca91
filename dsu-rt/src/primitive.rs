//! The primitives `protocol.rs` is built on: std's atomics and parking_lot's mutex and
//! condition variable here; loom's in `tests/loom.rs`, which gives the same names.

pub(crate) use std::sync::atomic::{compiler_fence, fence, AtomicBool, AtomicU64, Ordering};

/// A mutex that guards no data of its own: it orders what is done under it.
pub(crate) struct Mutex(parking_lot::Mutex<()>);

pub(crate) type Guard<'a> = parking_lot::MutexGuard<'a, ()>;

impl Mutex {
    pub(crate) fn new() -> Mutex {
        Mutex(parking_lot::Mutex::new(()))
    }

    pub(crate) fn lock(&self) -> Guard<'_> {
        self.0.lock()
    }
}

pub(crate) struct Condvar(parking_lot::Condvar);

impl Condvar {
    pub(crate) fn new() -> Condvar {
        Condvar(parking_lot::Condvar::new())
    }

    pub(crate) fn wait<'a>(&self, mut guard: Guard<'a>) -> Guard<'a> {
        self.0.wait(&mut guard);
        guard
    }

    pub(crate) fn notify_all(&self) {
        self.0.notify_all();
    }
}
