//! The gate between an update and the open transactions: the updater's side of version
//! consistency (see `transaction.rs` for the transactions' side, `docs/transactions.md` for
//! why the two together are sound).
//!
//! An update that changes items closes the gate on them: it publishes their effect bits as
//! *pending*, makes that visible to every thread with one heavy barrier, then waits until no
//! open transaction has called any of them. A transaction that would call one of them for the
//! first time while the gate is closed is held until the update has committed or given up,
//! so new transactions cannot keep a waiting update waiting. Only the program's gate is used;
//! a patch reaches it through the records the program made (`record.rs`), and the updater
//! hands the gate the scan of those records it waits on.

use std::sync::LazyLock;
use std::task::Waker;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::protocol::{self, Effects, Footprint, Pending};

/// The program's gate.
pub(crate) struct Gate {
    pub(crate) pending: Pending,
    /// `held`, as the program's code: a patch's copy of this crate has its own statics (and
    /// `parking_lot` its own parking table), so a held transaction must wait in the program's.
    pub(crate) held: fn(&Footprint, u32, bool),
    /// `wait_at_boundary`, as the program's code, for the same reason.
    pub(crate) wait_at_boundary: fn(&Footprint, &Waker) -> bool,
}

/// The program's gate. Made before the first record, which points to it.
static GATE: LazyLock<Gate> = LazyLock::new(|| {
    let pending = Pending::new(barrier::membarrier);
    if barrier::register() {
        pending.use_kernel_barrier();
    }
    Gate { pending, held, wait_at_boundary }
});

pub(crate) fn gate() -> &'static Gate {
    &GATE
}

/// A transaction's first call of item `id` while an update waits on it. Runs in the program.
///
/// The updater's own thread is never held: what it runs before the commit (a transformer, an
/// initialiser) ends before the commit, and would otherwise wait for the update it is part of.
///
/// Inside a poll of an async transaction the transaction binds itself to the old version
/// rather than wait, while the update has not decided to commit: its thread may be a worker the
/// transactions the update waits for need, the only one even. Only polls that began before the
/// gate closed can meet it so: the others wait at their boundary (`wait_at_boundary`), so new
/// transactions still cannot keep an update waiting.
///
/// `polling`: the call is inside a poll of an async transaction.
fn held(footprint: &Footprint, id: u32, polling: bool) {
    if is_updater() {
        return;
    }
    let (word, bit) = protocol::split(id);
    GATE.pending.held(footprint, word, bit, polling);
}

/// The wakers of the async transactions waiting at their poll boundary for the update to end.
static WAITING: Mutex<Vec<Waker>> = Mutex::new(Vec::new());

/// Whether an async transaction whose next poll would begin now must wait for the waiting
/// update to end first: then `waker` is woken when it has (committed, or given up). Runs in
/// the program.
fn wait_at_boundary(footprint: &Footprint, waker: &Waker) -> bool {
    if !GATE.pending.holds_at_boundary(footprint) || is_updater() {
        return false;
    }
    let mut waiting = WAITING.lock();
    // Looked at again under the lock: `open` clears the pending bits before it takes the lock
    // to wake the waiting, so a transaction that still sees them here is woken.
    if !GATE.pending.holds_at_boundary(footprint) {
        return false;
    }
    if !waiting.iter().any(|waiting| waiting.will_wake(waker)) {
        waiting.push(waker.clone());
    }
    true
}

/// Opens the gate, and wakes the async transactions that waited at their poll boundary.
fn open() {
    GATE.pending.open();
    let woken = std::mem::take(&mut *WAITING.lock());
    // Woken outside the lock: a waker may run code of the async runtime's.
    for waker in woken {
        waker.wake();
    }
}

std::thread_local! {
    /// Whether this thread runs an update or a rollback. The program's: a patch's code reaches
    /// it through the program's `held` and `update_here`.
    static UPDATER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// This thread runs an update or a rollback, until this is dropped.
pub(crate) struct Updater(std::marker::PhantomData<*const ()>);

impl Updater {
    /// Marks this thread as the updater; `None` if it is already: an update or rollback that
    /// code run by an update (a transformer, an initialiser) asks for would wait for itself.
    pub(crate) fn mark() -> Option<Updater> {
        // `then`, not `then_some`: an `Updater` made and dropped would clear the mark.
        UPDATER.with(|updater| !updater.replace(true)).then(|| Updater(std::marker::PhantomData))
    }
}

impl Drop for Updater {
    fn drop(&mut self) {
        UPDATER.with(|updater| updater.set(false));
    }
}

/// Whether this thread runs an update or a rollback.
pub(crate) fn is_updater() -> bool {
    UPDATER.with(std::cell::Cell::get)
}

/// An update's hold on the gate, from the moment no open transaction conflicts with it until
/// it is dropped (after the commit, or at once on a timeout): meanwhile no transaction starts
/// running the items it changes.
pub(crate) struct Held {
    /// How long the update waited for transactions.
    pub(crate) waited: Duration,
    /// Where the transactions it waited for began, each once.
    pub(crate) waited_for: Vec<String>,
}

/// Why an update could not take the gate.
pub(crate) enum Refused {
    /// Conflicting transactions stayed open for the whole timeout.
    TimedOut {
        waited: Duration,
        /// Where the conflicting transactions still open began.
        open: Vec<String>,
    },
    /// The kernel barrier, which worked when the process registered it, failed.
    NoBarrier,
}

/// Closes the gate on `changed` and waits until no open transaction has called any of those
/// items, for at most `timeout`. `open_conflicting` scans the open transactions: where those
/// that have called any of `changed` began (`record::open_conflicting`). On success the gate
/// stays closed until the `Held` is dropped; on a timeout, or if the barrier failed, it is open
/// again and nothing changed.
pub(crate) fn hold(
    changed: Effects,
    timeout: Duration,
    open_conflicting: impl Fn(&Effects) -> Vec<String>,
) -> Result<Held, Refused> {
    if !gate().pending.close(&changed) {
        // The pending bits were set for a moment: async transactions may wait on them.
        open();
        return Err(Refused::NoBarrier);
    }
    let started = Instant::now();
    let mut waited_for: Vec<String> = Vec::new();
    let mut pause = Duration::from_micros(20);
    // Two clean scans in a row: a movable transaction that ends may have handed its effects
    // to the transaction it ran inside (`Transaction::run`) after one scan read that one's
    // record and before it read the movable one closed. The next scan reads them, since it
    // reads every record after seeing the movable one closed.
    // Then the update decides (`Pending::decide`), and needs two clean scans again: a
    // transaction that met the gate inside a poll may have bound itself to the old version just
    // before the decision, and the scans after it see that.
    let mut clean = 0;
    let mut decided = false;
    loop {
        let conflicts = open_conflicting(&changed);
        if conflicts.is_empty() {
            clean += 1;
            if clean == 2 {
                if decided {
                    return Ok(Held { waited: started.elapsed(), waited_for });
                }
                GATE.pending.decide();
                (decided, clean) = (true, 0);
            }
            continue;
        }
        clean = 0;
        if decided {
            GATE.pending.undecide();
            decided = false;
        }
        for origin in &conflicts {
            if !waited_for.contains(origin) {
                waited_for.push(origin.clone());
            }
        }
        let waited = started.elapsed();
        if waited >= timeout {
            open();
            return Err(Refused::TimedOut { waited, open: conflicts });
        }
        std::thread::sleep(pause.min(timeout - waited));
        pause = (pause * 2).min(Duration::from_millis(2));
    }
}

impl Held {
    /// Opens the gate after a commit (or after nothing to wait for), and says how long the
    /// update waited and for which transactions.
    pub(crate) fn release(held: Option<Held>) -> (Duration, Vec<String>) {
        held.map_or_else(Default::default, |mut held| {
            (held.waited, std::mem::take(&mut held.waited_for))
        })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        open();
    }
}

/// The heavy side of the asymmetric barrier: Linux's `membarrier`, which runs a full memory
/// barrier on every thread of the process that is running, as userspace RCU does.
mod barrier {
    #[cfg(all(target_os = "linux", not(miri)))]
    mod linux {
        const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
        const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

        fn call(command: libc::c_long) -> bool {
            // SAFETY: `membarrier(cmd, flags, cpu_id)` reads no memory of ours; an unknown
            // command or an old kernel returns -1.
            unsafe { libc::syscall(libc::SYS_membarrier, command, 0 as libc::c_long, 0) == 0 }
        }

        pub(super) fn register() -> bool {
            call(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED)
        }

        pub(super) fn membarrier() -> bool {
            call(MEMBARRIER_CMD_PRIVATE_EXPEDITED)
        }
    }

    /// Whether the heavy barrier can be a `membarrier` from now on.
    pub(super) fn register() -> bool {
        #[cfg(all(target_os = "linux", not(miri)))]
        return linux::register() && linux::membarrier();
        #[cfg(not(all(target_os = "linux", not(miri))))]
        false
    }

    /// Runs the barrier; false if it could not (the update then gives up, see
    /// `Pending::heavy_barrier`).
    pub(super) fn membarrier() -> bool {
        #[cfg(all(target_os = "linux", not(miri)))]
        return linux::membarrier();
        #[cfg(not(all(target_os = "linux", not(miri))))]
        false
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::panic::Location;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc;
    use std::thread;

    use parking_lot::{Mutex, MutexGuard};

    use super::*;
    use crate::protocol::effects_of;
    use crate::record::open_conflicting;
    use crate::transaction::{enter, note_call as note};

    fn hold(changed: Effects, timeout: Duration) -> Result<Held, Refused> {
        super::hold(changed, timeout, open_conflicting)
    }

    /// The gate is the process's: the tests that close it take turns, as updates do under
    /// the registry's lock.
    pub(crate) fn exclusive() -> MutexGuard<'static, ()> {
        static TURN: Mutex<()> = Mutex::new(());
        TURN.lock()
    }

    /// Runs `body` in a transaction on another thread that first calls `calls`, then waits
    /// for a word from the returned sender before it ends.
    fn open_transaction(calls: &'static [u32]) -> (mpsc::Sender<()>, thread::JoinHandle<()>) {
        let (end, ended) = mpsc::channel();
        let (opened, is_open) = mpsc::channel();
        let thread = thread::spawn(move || {
            let _transaction = enter(Location::caller());
            for &id in calls {
                note(id);
            }
            opened.send(()).unwrap();
            let _ = ended.recv();
        });
        is_open.recv().unwrap();
        (end, thread)
    }

    #[test]
    fn an_update_commits_beside_a_transaction_that_called_nothing_it_changes() {
        let _turn = exclusive();
        let (end, thread) = open_transaction(&[101]);
        let held = hold(effects_of([102]), Duration::from_secs(5)).ok().expect("no conflict");
        assert!(held.waited_for.is_empty());
        drop(held);
        end.send(()).unwrap();
        thread.join().unwrap();
    }

    #[test]
    fn an_update_waits_for_a_transaction_that_called_what_it_changes() {
        let _turn = exclusive();
        let (end, thread) = open_transaction(&[111, 112]);
        let ender = thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            end.send(()).unwrap();
        });
        let held = hold(effects_of([112]), Duration::from_secs(10)).ok().expect("it ends");
        assert!(held.waited >= Duration::from_millis(50), "{:?}", held.waited);
        assert_eq!(held.waited_for.len(), 1);
        assert!(held.waited_for[0].contains("gate.rs"), "{:?}", held.waited_for);
        drop(held);
        ender.join().unwrap();
        thread.join().unwrap();
    }

    #[test]
    fn an_update_gives_up_after_its_timeout_and_opens_the_gate() {
        let _turn = exclusive();
        let (end, thread) = open_transaction(&[121]);
        let Err(Refused::TimedOut { waited, open }) =
            hold(effects_of([121]), Duration::from_millis(30))
        else {
            panic!("the transaction stays open");
        };
        assert!(waited >= Duration::from_millis(30));
        assert_eq!(open.len(), 1);
        assert!(!GATE.pending.is_closed(), "the gate is open again");
        end.send(()).unwrap();
        thread.join().unwrap();
    }

    #[test]
    fn a_transaction_about_to_call_a_changed_item_is_held_until_the_commit() {
        let _turn = exclusive();
        static COMMITTED: AtomicBool = AtomicBool::new(false);
        COMMITTED.store(false, Ordering::Relaxed);
        let held = hold(effects_of([131]), Duration::from_secs(5)).ok().expect("no conflict");
        let (started, is_started) = mpsc::channel();
        let thread = thread::spawn(move || {
            let _transaction = enter(Location::caller());
            note(130); // not changed: goes on
            started.send(()).unwrap();
            note(131); // changed: held until the commit
            COMMITTED.load(Ordering::Relaxed)
        });
        is_started.recv().unwrap();
        // Held, it takes the call's bit back: the transaction has not run the item.
        let mut looks = 0;
        while !open_conflicting(&effects_of([131])).is_empty() {
            looks += 1;
            assert!(looks < 10_000, "the transaction takes its bit back when it is held");
            thread::sleep(Duration::from_millis(1));
        }
        thread::sleep(Duration::from_millis(10));
        assert!(!thread.is_finished(), "held at the gate");
        COMMITTED.store(true, Ordering::Relaxed);
        drop(held);
        assert!(thread.join().unwrap(), "the call went on after the commit");
    }

    #[test]
    fn a_kernel_barrier_that_fails_after_it_worked_refuses_the_close() {
        let pending = Pending::new(|| false);
        pending.use_kernel_barrier();
        assert!(!pending.close(&effects_of([161])), "a fence alone does not pair");
        assert!(!pending.is_closed(), "the gate is open again");
        let fenced = Pending::new(|| false);
        assert!(fenced.close(&effects_of([161])), "both sides fence without a kernel barrier");
        fenced.open();
    }

    #[test]
    fn the_updaters_own_thread_is_never_held() {
        let _turn = exclusive();
        let updater = Updater::mark().expect("this thread runs no update yet");
        assert!(Updater::mark().is_none(), "an update inside an update is refused");
        assert!(is_updater(), "a refused mark leaves the updater marked");
        let held = hold(effects_of([151]), Duration::from_secs(5)).ok().expect("no conflict");
        {
            // A transformer's access: it would wait for the update this thread runs.
            let _transaction = enter(Location::caller());
            note(151);
        }
        drop(held);
        drop(updater);
        assert!(!is_updater());
        assert!(Updater::mark().is_some(), "the next update marks the thread again");
    }

    #[test]
    fn a_transaction_bound_to_the_old_version_goes_on_in_it() {
        let _turn = exclusive();
        let (go, wait) = mpsc::channel::<()>();
        let (noted, is_noted) = mpsc::channel();
        let thread = thread::spawn(move || {
            let _transaction = enter(Location::caller());
            note(141);
            noted.send(()).unwrap();
            wait.recv().unwrap();
            note(142); // the update waits for this transaction: not held
        });
        is_noted.recv().unwrap();
        let updater = thread::spawn(|| hold(effects_of([141, 142]), Duration::from_secs(10)).ok());
        thread::sleep(Duration::from_millis(30));
        go.send(()).unwrap();
        thread.join().unwrap();
        let held = updater.join().unwrap().expect("the transaction ended");
        assert_eq!(held.waited_for.len(), 1);
    }
}
