//! The concurrency core of transactions: what a transaction records and how an update
//! decides, against it, when to commit. `record.rs`, `transaction.rs` and `gate.rs` build the
//! runtime on it; `tests/loom.rs` model-checks it with loom: this file is compiled there on its
//! own, with loom's primitives in place of `primitive.rs`.
//!
//! The two sides meet as in Dekker's algorithm. A transaction's first call of an item stores
//! the item's bit in its footprint, then (light barrier) loads the pending bits; an update
//! stores the pending bits, then (heavy barrier) loads the footprints. With a barrier on each
//! side, at least one of them sees the other's store: either the update sees the call and
//! waits for the transaction, or the transaction sees the update and is held before the call.
//! `docs/transactions.md` has the whole argument.

use super::primitive::{compiler_fence, fence, AtomicBool, AtomicU64, Condvar, Mutex, Ordering};

/// Words of effect bits: a transaction records the items it called in 256 bits, item `id` at
/// bit `id % 256`. Items that share a bit make a transaction conflict with an update that
/// changes either, which costs waiting, never consistency.
pub(crate) const WORDS: usize = 4;

/// The effect bits of a set of items.
pub(crate) type Effects = [u64; WORDS];

/// Where item `id`'s bit is: its word, and the bit in the word.
#[inline(always)]
pub(crate) fn split(id: u32) -> (usize, u64) {
    ((id as usize >> 6) % WORDS, 1 << (id & 63))
}

/// The effect bits of `ids`.
pub(crate) fn effects_of(ids: impl IntoIterator<Item = u32>) -> Effects {
    let mut effects = [0; WORDS];
    for id in ids {
        let (word, bit) = split(id);
        effects[word] |= bit;
    }
    effects
}

fn meet(a: &Effects, b: &Effects) -> bool {
    a.iter().zip(b).any(|(a, b)| a & b != 0)
}

/// What one transaction has done: whether it is open, and which items it has called.
///
/// Only the thread that runs the transaction writes it (`Relaxed` stores: what orders them
/// against the updater is the barrier pair, and the `Release` of `end`); the updater reads it.
pub(crate) struct Footprint {
    open: AtomicBool,
    /// Whether any effect bit may be set: `begin` then clears them. Owner-only.
    dirty: AtomicBool,
    effects: [AtomicU64; WORDS],
}

impl Footprint {
    pub(crate) fn new() -> Footprint {
        Footprint {
            open: AtomicBool::new(false),
            dirty: AtomicBool::new(false),
            effects: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// Opens a transaction, with no effects yet. A stale bit the updater might still read
    /// makes it wait for nothing, never commit too early. The words are cleared only if the
    /// last transaction set a bit: entering writes as little as it can.
    ///
    /// `Release`, as `end`: a footprint is reused, and an updater that reads it open again
    /// (with `Acquire`) must see all of the transaction before, as if it had read it closed.
    /// (A plain store on x86-64.)
    #[inline(always)]
    pub(crate) fn begin(&self) {
        if self.dirty.load(Ordering::Relaxed) {
            self.clear_all();
        }
        self.open.store(true, Ordering::Release);
    }

    #[cold]
    fn clear_all(&self) {
        for word in &self.effects {
            word.store(0, Ordering::Relaxed);
        }
        self.dirty.store(false, Ordering::Relaxed);
    }

    /// Ends the transaction. `Release`: every call it made happens before an updater that
    /// sees it closed (with `Acquire`) commits.
    #[inline(always)]
    pub(crate) fn end(&self) {
        self.open.store(false, Ordering::Release);
    }

    /// Notes a call of item `id`, before the call reads the item's slot. True if the call
    /// must first go through `Pending::held`: an update waits on this item.
    #[inline(always)]
    pub(crate) fn note(&self, id: u32, pending: &Pending) -> bool {
        let (word, bit) = split(id);
        let seen = self.effects[word].load(Ordering::Relaxed);
        seen & bit == 0 && self.first_call(word, bit, seen, pending)
    }

    #[inline(never)]
    fn first_call(&self, word: usize, bit: u64, seen: u64, pending: &Pending) -> bool {
        self.dirty.store(true, Ordering::Relaxed);
        self.effects[word].store(seen | bit, Ordering::Relaxed);
        pending.light_barrier();
        // Acquire: if this reads the zero with which an update opened the gate again, the
        // call must see that update's slot stores (found by loom).
        pending.words[word].load(Ordering::Acquire) & bit != 0
    }

    pub(crate) fn effects(&self) -> Effects {
        std::array::from_fn(|word| self.effects[word].load(Ordering::Relaxed))
    }

    fn set(&self, word: usize, bits: u64) {
        self.dirty.store(true, Ordering::Relaxed);
        let effects = &self.effects[word];
        effects.store(effects.load(Ordering::Relaxed) | bits, Ordering::Relaxed);
    }

    fn clear(&self, word: usize, bits: u64) {
        let effects = &self.effects[word];
        effects.store(effects.load(Ordering::Relaxed) & !bits, Ordering::Relaxed);
    }

    /// Adds `other`'s effects to these: the two transactions are bound together.
    pub(crate) fn absorb(&self, other: &Footprint) {
        for (word, bits) in other.effects().into_iter().enumerate() {
            self.set(word, bits);
        }
    }

    /// Whether the transaction is open and has called any of `changed`. Called by the
    /// updater after `Pending::close`.
    pub(crate) fn conflicts_with(&self, changed: &Effects) -> bool {
        self.open.load(Ordering::Acquire) && meet(&self.effects(), changed)
    }
}

/// The updater's side: the bits of the items an update waits to change.
pub(crate) struct Pending {
    /// Zero when no update waits. Written under `lock`, so that a transaction that takes the
    /// lock sees a whole set.
    words: [AtomicU64; WORDS],
    /// Whether `kernel_barrier` works, so that the light barrier need only stop the compiler.
    kernel: AtomicBool,
    /// A barrier that runs a full fence on every running thread of the process (Linux's
    /// `membarrier`); false if it could not.
    kernel_barrier: fn() -> bool,
    /// Whether the waiting update has found no transaction it waits for and is about to
    /// commit: from then on, a transaction that meets the gate inside a poll is held too
    /// (`held`). Written and read under `lock`.
    deciding: AtomicBool,
    lock: Mutex,
    opened: Condvar,
}

impl Pending {
    /// No update waiting; `kernel_barrier` is used once `use_kernel_barrier` says it works.
    pub(crate) fn new(kernel_barrier: fn() -> bool) -> Pending {
        Pending {
            words: std::array::from_fn(|_| AtomicU64::new(0)),
            kernel: AtomicBool::new(false),
            kernel_barrier,
            deciding: AtomicBool::new(false),
            lock: Mutex::new(),
            opened: Condvar::new(),
        }
    }

    /// Lets the light barrier be a compiler fence from now on: the heavy one is the kernel's.
    /// Called before any footprint exists.
    pub(crate) fn use_kernel_barrier(&self) {
        self.kernel.store(true, Ordering::Relaxed);
    }

    /// The transactions' side of the barrier pair.
    #[inline(always)]
    fn light_barrier(&self) {
        if self.kernel.load(Ordering::Relaxed) {
            // The kernel barrier runs a full fence on this thread if it is running, and a
            // thread that is not running has been through a context switch, which is one.
            compiler_fence(Ordering::SeqCst);
            return;
        }
        fence(Ordering::SeqCst);
    }

    /// The updater's side of the barrier pair; false if the kernel barrier failed. A fence here
    /// would not do then: since the kernel barrier worked, transactions' side is a compiler
    /// fence only, which pairs with nothing but the kernel's (`tests/loom.rs` finds the
    /// interleaving that splits a transaction). Nor can transactions be switched to fences:
    /// one that read the mode before the switch may still be past its compiler fence.
    fn heavy_barrier(&self) -> bool {
        if self.kernel.load(Ordering::Relaxed) {
            return (self.kernel_barrier)();
        }
        fence(Ordering::SeqCst);
        true
    }

    /// Closes the gate on `changed`: from now on, a transaction's first call of one of them
    /// either is seen by `Footprint::conflicts_with` or goes through `held`. False, with the
    /// gate open again, if the barrier failed: then the update cannot tell which items open
    /// transactions have called, and must give up.
    #[must_use]
    pub(crate) fn close(&self, changed: &Effects) -> bool {
        {
            let _guard = self.lock.lock();
            for (word, bits) in self.words.iter().zip(changed) {
                word.store(*bits, Ordering::Relaxed);
            }
        }
        if self.heavy_barrier() {
            return true;
        }
        self.open();
        false
    }

    /// Whether an update waits.
    #[cfg(test)]
    pub(crate) fn is_closed(&self) -> bool {
        self.words.iter().any(|word| word.load(Ordering::Relaxed) != 0)
    }

    /// The waiting update has found no conflicting transaction: from now on no transaction
    /// binds itself to the old version (`held` with `binds`). The update must then find none
    /// again before it commits: a transaction that bound itself before this took the lock has
    /// its bit stored before it released the lock, so the update's next look sees it.
    pub(crate) fn decide(&self) {
        let _guard = self.lock.lock();
        self.deciding.store(true, Ordering::Relaxed);
    }

    /// The update found a conflicting transaction after `decide` (one that bound itself just
    /// before) and waits again: transactions that meet the gate inside a poll may bind
    /// themselves again, and those held meanwhile look again.
    pub(crate) fn undecide(&self) {
        let _guard = self.lock.lock();
        self.deciding.store(false, Ordering::Relaxed);
        self.opened.notify_all();
    }

    /// Whether a transaction whose next poll would begin now must wait for the update first:
    /// an update waits, and the transaction has called nothing it changes (a transaction that
    /// has is bound to the old version, and the update waits for it to end). A hint, read
    /// without a barrier: what keeps the versions apart is `held`, inside the poll.
    pub(crate) fn holds_at_boundary(&self, footprint: &Footprint) -> bool {
        // Acquire: a transaction that reads the zero with which an update opened the gate
        // again sees that update's slot stores.
        let pending: Effects = std::array::from_fn(|word| self.words[word].load(Ordering::Acquire));
        pending != [0; WORDS] && !meet(&footprint.effects(), &pending)
    }

    /// Opens the gate: after the commit, or when the update gave up. Held transactions go on.
    pub(crate) fn open(&self) {
        let _guard = self.lock.lock();
        self.deciding.store(false, Ordering::Relaxed);
        for word in &self.words {
            // Release: a held transaction that sees its bit cleared (under the lock) sees the
            // commit's slot stores too.
            word.store(0, Ordering::Release);
        }
        self.opened.notify_all();
    }

    /// A transaction's first call of an item, bit `bit` of word `word`, that a waiting update
    /// changes.
    ///
    /// If the transaction has already called another item the update changes, the update
    /// waits for it, and the call goes on in the old version. Otherwise the transaction has
    /// run nothing the update changes. If `binds` (the call is inside a poll of an async
    /// transaction, whose thread may be the one the update waits on) and the update has not
    /// yet decided to commit (`decide`), the transaction binds itself to the old version: it
    /// keeps the call's bit, which the update sees before it commits, and goes on in the old
    /// version. Otherwise it is held, with the call's bit taken back, until the update has
    /// committed, given up or looks again (`undecide`), and then goes on in whichever version
    /// runs.
    pub(crate) fn held(&self, footprint: &Footprint, word: usize, bit: u64, binds: bool) {
        let mut guard = self.lock.lock();
        loop {
            let mut before = footprint.effects();
            before[word] &= !bit;
            let pending: Effects =
                std::array::from_fn(|word| self.words[word].load(Ordering::Relaxed));
            if meet(&before, &pending) {
                return; // bound to the old version: the update waits for this transaction
            }
            if pending[word] & bit == 0 {
                // The update has ended. The bits change only under the lock, so a later
                // update, which takes the lock to close the gate, sees this call's bit.
                footprint.set(word, bit);
                return;
            }
            if binds && !self.deciding.load(Ordering::Relaxed) {
                // Bound to the old version. The bit is stored, by this thread, before this
                // unlocks, and the update takes the lock in `decide` before its last look.
                footprint.set(word, bit);
                return;
            }
            footprint.clear(word, bit);
            guard = self.opened.wait(guard);
        }
    }
}
