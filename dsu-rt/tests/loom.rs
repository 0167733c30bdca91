//! A loom model of the transaction protocol (`src/protocol.rs`, compiled here with loom's
//! atomics, mutex and condition variable): a transaction that calls two items, each of which
//! says its version through a slot as an updateable call does, against an updater that closes
//! the gate, waits for conflicting transactions, decides, commits and opens the gate again, or
//! gives up, and one whose kernel barrier fails after the transactions came to rely on it; and
//! the same for a transaction inside a poll, which binds itself to the old version rather than
//! wait while the update has not decided. Loom runs
//! every interleaving the memory model allows.
//!
//! It runs with the other tests; `cargo test -p dsu-rt --release --test loom` runs it faster.

#[allow(dead_code, unreachable_pub)]
#[path = "../src/protocol.rs"]
mod protocol;

/// What `src/primitive.rs` gives `protocol.rs`, from loom.
mod primitive {
    pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};

    /// Orders nothing between threads, as on the machine: what makes it enough there is the
    /// kernel barrier on the other side, which the model has not (its kernel barrier fails).
    pub(crate) fn compiler_fence(_order: Ordering) {}

    pub(crate) struct Mutex(loom::sync::Mutex<()>);

    pub(crate) type Guard<'a> = loom::sync::MutexGuard<'a, ()>;

    impl Mutex {
        pub(crate) fn new() -> Mutex {
            Mutex(loom::sync::Mutex::new(()))
        }

        pub(crate) fn lock(&self) -> Guard<'_> {
            self.0.lock().unwrap()
        }
    }

    pub(crate) struct Condvar(loom::sync::Condvar);

    impl Condvar {
        pub(crate) fn new() -> Condvar {
            Condvar(loom::sync::Condvar::new())
        }

        pub(crate) fn wait<'a>(&self, guard: Guard<'a>) -> Guard<'a> {
            self.0.wait(guard).unwrap()
        }

        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }
    }
}

use loom::sync::atomic::{AtomicU32, Ordering};
use loom::sync::Arc;
use loom::thread;

use protocol::{effects_of, split, Footprint, Pending};

/// The process of the model: the gate, one transaction's footprint, and the slots of items 0
/// and 1, which hold the version of their code.
struct Process {
    pending: Pending,
    footprint: Footprint,
    slots: [AtomicU32; 2],
}

impl Process {
    fn new() -> Arc<Process> {
        Arc::new(Process {
            // No kernel barrier: both sides fence.
            pending: Pending::new(|| false),
            footprint: Footprint::new(),
            slots: [AtomicU32::new(1), AtomicU32::new(1)],
        })
    }

    /// A process whose kernel barrier registered, so that transactions use a compiler fence
    /// only, and then fails.
    fn with_failing_kernel_barrier() -> Arc<Process> {
        let pending = Pending::new(|| false);
        pending.use_kernel_barrier();
        Arc::new(Process {
            pending,
            footprint: Footprint::new(),
            slots: [AtomicU32::new(1), AtomicU32::new(1)],
        })
    }

    /// An updateable call of item `id` inside the transaction: note it, then read the slot
    /// (`Acquire`, as `Slot::foreign` does). `binds`: the call is inside a poll of an async
    /// transaction, which binds itself to the old version rather than wait while it can.
    fn call(&self, id: u32, binds: bool) -> u32 {
        if self.footprint.note(id, &self.pending) {
            let (word, bit) = split(id);
            self.pending.held(&self.footprint, word, bit, binds);
        }
        self.slots[id as usize].load(Ordering::Acquire)
    }

    /// A transaction that calls items 0 and 1: the versions it saw.
    fn transaction(&self) -> (u32, u32) {
        self.transaction_in(false)
    }

    /// A poll of an async transaction that calls items 0 and 1.
    fn polled_transaction(&self) -> (u32, u32) {
        self.transaction_in(true)
    }

    fn transaction_in(&self, binds: bool) -> (u32, u32) {
        self.footprint.begin();
        let seen = (self.call(0, binds), self.call(1, binds));
        self.footprint.end();
        seen
    }

    /// An update of `changed` to version 2: close the gate (or give up if the barrier failed),
    /// wait (at most `patience` looks) until the transaction has called none of them, commit,
    /// open the gate. Whether it committed.
    fn update(&self, changed: &[u32], patience: usize) -> bool {
        let effects = effects_of(changed.iter().copied());
        if !self.pending.close(&effects) {
            return false; // no barrier: nothing changed
        }
        let mut looks = 0;
        loop {
            while self.footprint.conflicts_with(&effects) {
                looks += 1;
                if looks > patience {
                    self.pending.open(); // gives up: nothing changed
                    return false;
                }
                thread::yield_now();
            }
            // No conflict: decide, and look once more for a transaction that bound itself to
            // the old version before the decision.
            self.pending.decide();
            if !self.footprint.conflicts_with(&effects) {
                break;
            }
            self.pending.undecide();
        }
        for &id in changed {
            self.slots[id as usize].store(2, Ordering::Release);
        }
        self.pending.open();
        true
    }
}

#[test]
fn a_transaction_sees_one_version_of_everything_an_update_changes() {
    loom::model(|| {
        let process = Process::new();
        let transaction = {
            let process = process.clone();
            thread::spawn(move || process.transaction())
        };
        assert!(process.update(&[0, 1], usize::MAX), "the update waits as long as it takes");
        let (a, b) = transaction.join().unwrap();
        assert_eq!(a, b, "the transaction saw two versions");
    });
}

/// Runs `model` under loom with at most three preemptions in each interleaving: the model of a
/// transaction that binds itself has a state space loom does not go through whole in minutes.
/// loom's documentation finds a bound of 2 or 3 enough to catch most bugs.
fn bounded(model: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(model);
}

#[test]
fn a_transaction_that_binds_itself_inside_a_poll_sees_one_version() {
    bounded(|| {
        let process = Process::new();
        let transaction = {
            let process = process.clone();
            thread::spawn(move || process.polled_transaction())
        };
        assert!(process.update(&[0, 1], usize::MAX), "the update waits as long as it takes");
        let (a, b) = transaction.join().unwrap();
        assert_eq!(a, b, "the transaction saw two versions");
    });
}

#[test]
fn a_bound_transaction_and_an_update_that_gives_up_change_nothing() {
    bounded(|| {
        let process = Process::new();
        let transaction = {
            let process = process.clone();
            thread::spawn(move || process.polled_transaction())
        };
        let committed = process.update(&[0, 1], 1);
        let (a, b) = transaction.join().unwrap();
        assert_eq!(a, b, "the transaction saw two versions");
        if !committed {
            assert_eq!(process.slots.each_ref().map(|slot| slot.load(Ordering::Relaxed)), [1, 1]);
        }
    });
}

#[test]
fn an_update_of_one_item_never_splits_a_transaction() {
    loom::model(|| {
        let process = Process::new();
        let transaction = {
            let process = process.clone();
            thread::spawn(move || process.transaction())
        };
        assert!(process.update(&[1], usize::MAX));
        let (a, b) = transaction.join().unwrap();
        // Item 0 is the same in both versions: any result is consistent, and nothing blocks.
        assert_eq!(a, 1);
        assert!(b == 1 || b == 2);
    });
}

#[test]
fn an_update_that_gives_up_changes_nothing_and_releases_held_transactions() {
    loom::model(|| {
        let process = Process::new();
        let transaction = {
            let process = process.clone();
            thread::spawn(move || process.transaction())
        };
        let committed = process.update(&[0, 1], 1);
        let (a, b) = transaction.join().unwrap();
        assert_eq!(a, b, "the transaction saw two versions");
        if !committed {
            assert_eq!(process.slots.each_ref().map(|slot| slot.load(Ordering::Relaxed)), [1, 1]);
        }
    });
}

#[test]
fn an_update_whose_kernel_barrier_fails_changes_nothing() {
    loom::model(|| {
        let process = Process::with_failing_kernel_barrier();
        let transaction = {
            let process = process.clone();
            thread::spawn(move || process.transaction())
        };
        // A fence on the updater's side alone would let it commit between the transaction's
        // two calls: the transaction's store of its first call's bit need not be visible yet.
        let committed = process.update(&[0, 1], usize::MAX);
        let (a, b) = transaction.join().unwrap();
        assert!(!committed, "no barrier, no commit");
        assert_eq!((a, b), (1, 1));
    });
}
