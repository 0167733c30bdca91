//! Transactions: code that appears to run entirely in one version of the program.
//!
//! A transaction records, in a record only its thread writes, which updateable items it has
//! called (its prior effects, as bits). An update may commit while a transaction is open only
//! if the transaction has called none of the items the update changes: then everything it
//! ran is the same in both versions, and it goes on in the new one. Otherwise the update waits
//! (see `gate.rs`). There is no log and nothing to undo.
//!
//! Entering and leaving write only the thread's own record. A call inside a transaction sets
//! its item's bit the first time; that first call also checks, behind a barrier that is a
//! compiler fence when the updater can use `membarrier`, whether an update is waiting on the
//! item. Calls outside any transaction only find that the thread is in none.
//!
//! Records belong to the program: a patch's code reaches them through the program's thread
//! state (`tls.rs`), and makes new ones through the host context.

use std::marker::PhantomData;
use std::panic::Location;
use std::ptr;
use std::sync::atomic::{AtomicU32, Ordering};

use dsu_abi::op;

use crate::context::{self, Op};
use crate::record::{self, Record};
use crate::tls::{self, Local};

/// Notes that the calling thread calls the item whose effect id is `effect`, if it runs in a
/// transaction. Called by every updateable call before it reads its slot; `access` is how the
/// calling image reaches the program's thread state (see `tls::local_by`). Outside any
/// transaction this is two loads: the access (on the slot's line) and the thread's current
/// record.
#[inline(always)]
pub(crate) fn note(access: isize, effect: &AtomicU32) {
    // SAFETY: `local_by` gives the program's state of this thread, which lives as long as the
    // thread; `current` is null or one of the program's records, which are never freed.
    unsafe {
        let current = (*tls::local_by(access)).current.get();
        if let Some(record) = current.as_ref() {
            // Relaxed: the registry gives the id before any code calls through the slot.
            record.note(effect.load(Ordering::Relaxed));
        }
    }
}

/// A call of the item with effect id `id` from the program's code, for tests.
#[cfg(test)]
pub(crate) fn note_call(id: u32) {
    note(0, &AtomicU32::new(id));
}

/// Whether the calling thread runs in a transaction.
pub(crate) fn in_transaction() -> bool {
    // SAFETY: as in `note`.
    unsafe { !(*tls::local()).current.get().is_null() }
}

/// A transaction entered on this thread by [`enter`]; dropping it leaves the transaction.
/// Bound to its thread.
#[must_use = "the transaction ends when this is dropped"]
pub struct Entered {
    /// The record of the transaction this entry opened; `None` for an entry nested in a
    /// transaction already open, which leaving ends nothing.
    opened: Option<&'static Record>,
    local: *const Local,
    _thread_bound: PhantomData<*const ()>,
}

/// Enters a transaction on this thread, or, if the thread already runs in one, nests in it
/// (a nested transaction is part of the outer one). What `#[dsu::transaction]` calls.
///
/// Writes only the thread's own record and thread-local state: no line another thread writes.
#[inline]
pub fn enter(origin: &'static Location<'static>) -> Entered {
    let local = tls::local();
    // SAFETY: as in `note`; the own record, once made, is the thread's for its lifetime.
    let opened = unsafe {
        let state = &*local;
        if state.current.get().is_null() {
            let record = match state.own.get().as_ref() {
                Some(own) => own,
                None => own_record(),
            };
            record.begin(origin);
            state.current.set(record);
            Some(record)
        } else {
            None
        }
    };
    Entered { opened, local, _thread_bound: PhantomData }
}

impl Entered {
    /// Notes, in the transaction this entry opened or nested in, a use of what has effect id
    /// `effect` (a global), before the use.
    #[inline(always)]
    pub(crate) fn note(&self, effect: &AtomicU32) {
        // Relaxed: the registry gives the id before any code reaches the global.
        self.note_id(effect.load(Ordering::Relaxed));
    }

    /// Notes, as `note`, a use of what has effect id `id` (a state cell's type).
    #[inline(always)]
    pub(crate) fn note_id(&self, id: u32) {
        // SAFETY: `local` is this thread's state (`Entered` does not leave its thread); while an
        // entry lives, a transaction is open on the thread, so `current` is one of the
        // program's records, which are never freed.
        let record = self.opened.unwrap_or_else(|| unsafe { &*(*self.local).current.get() });
        record.note(id);
    }
}

impl Drop for Entered {
    #[inline]
    fn drop(&mut self) {
        if let Some(record) = self.opened {
            record.footprint.end();
            // SAFETY: `local` is this thread's state (`Entered` does not leave its thread).
            unsafe { (*self.local).current.set(ptr::null()) };
        }
    }
}

/// Runs `body` as a transaction: it appears to run entirely in one version of the program.
/// For code that is not a function of its own; a function is marked `#[dsu::transaction]`.
///
/// ```
/// #[dsu::updateable]
/// fn parse(line: &str) -> Vec<String> {
///     line.split_whitespace().map(str::to_owned).collect()
/// }
///
/// #[dsu::updateable]
/// fn respond(request: &[String]) -> String {
///     format!("{} words", request.len())
/// }
///
/// let line = "GET /index.html";
/// // `parse` and `respond` run in one version, even if an update lands meanwhile.
/// let reply = dsu::transaction(|| {
///     let request = parse(line);
///     respond(&request)
/// });
/// assert_eq!(reply, "2 words");
/// ```
#[track_caller]
#[inline]
pub fn transaction<R>(body: impl FnOnce() -> R) -> R {
    let _entered = enter(Location::caller());
    body()
}

/// A transaction that can move between functions and threads: begun where an event arrives,
/// run in pieces wherever it is handled, ended when dropped. While it is open, and between
/// its pieces too, every piece runs in the version the transaction began in, or every piece
/// in the next one.
///
/// ```
/// use std::sync::mpsc;
///
/// #[dsu::updateable]
/// fn read_request(input: &str) -> String {
///     input.trim().to_owned()
/// }
///
/// #[dsu::updateable]
/// fn answer(request: &str) -> String {
///     format!("answered {request}")
/// }
///
/// let (queue, work) = mpsc::channel::<(dsu::Transaction, String)>();
/// let worker = std::thread::spawn(move || {
///     // Answered on a worker thread, in the version the request was read in.
///     let (mut transaction, request) = work.recv().unwrap();
///     let reply = transaction.run(|| answer(&request));
///     drop(transaction); // the transaction ends here
///     reply
/// });
///
/// let mut transaction = dsu::Transaction::begin();
/// let request = transaction.run(|| read_request(" ping \n"));
/// queue.send((transaction, request)).unwrap();
/// assert_eq!(worker.join().unwrap(), "answered ping");
/// ```
///
/// An open `Transaction` that is never dropped keeps every update that conflicts with it
/// waiting until that update's timeout.
pub struct Transaction {
    record: &'static Record,
    /// `run` takes `&mut self`: one piece at a time.
    _not_sync: PhantomData<std::cell::Cell<()>>,
}

impl Transaction {
    /// Begins a transaction, attached to no thread yet.
    #[track_caller]
    pub fn begin() -> Transaction {
        Transaction::begin_at(Location::caller())
    }

    /// Begins a transaction that began at `origin`.
    pub(crate) fn begin_at(origin: &'static Location<'static>) -> Transaction {
        let record = take_record();
        record.begin(origin);
        Transaction { record, _not_sync: PhantomData }
    }

    /// Whether the transaction must wait for a waiting update before its next piece begins,
    /// and so returns `Pending`: then `waker` is woken when the update has ended.
    pub(crate) fn waits_at_boundary(&self, waker: &std::task::Waker) -> bool {
        self.record.waits_at_boundary(waker)
    }

    /// Runs `piece` on this thread as part of the transaction. If the thread already runs in
    /// a transaction, the two are bound together: each has the other's effects.
    pub fn run<R>(&mut self, piece: impl FnOnce() -> R) -> R {
        self.attach(false, piece)
    }

    /// `run`, for a poll of an async transaction when `polling` (see `async_transaction.rs`).
    /// A piece run inside a poll is part of the poll too.
    pub(crate) fn attach<R>(&mut self, polling: bool, piece: impl FnOnce() -> R) -> R {
        struct Attached {
            record: &'static Record,
            local: *const Local,
            outer: *const Record,
            was_polling: bool,
        }
        impl Drop for Attached {
            fn drop(&mut self) {
                self.record.set_polling(self.was_polling);
                // SAFETY: `local` is this thread's state; `outer` null or a live record.
                unsafe {
                    if let Some(outer) = self.outer.as_ref() {
                        outer.footprint.absorb(&self.record.footprint);
                    }
                    (*self.local).current.set(self.outer);
                }
            }
        }
        let local = tls::local();
        // SAFETY: as in `note`.
        let outer = unsafe { (*local).current.replace(self.record) };
        // SAFETY: `outer` is null or a live record.
        let outer_polling = match unsafe { outer.as_ref() } {
            Some(outer) => {
                self.record.footprint.absorb(&outer.footprint);
                outer.polling()
            }
            None => false,
        };
        let was_polling = self.record.set_polling(polling || outer_polling);
        let _attached = Attached { record: self.record, local, outer, was_polling };
        piece()
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        self.record.footprint.end();
        free_record(self.record);
    }
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction").field("origin", &self.record.origin()).finish()
    }
}

/// A record for a new transaction: in a patch, one of the program's.
fn take_record() -> &'static Record {
    match context::host() {
        Some(context) => context::call::<TakeRecord>(context, &())
            .expect("the program makes transaction records"),
        None => take_record_here(),
    }
}

/// A record of the program's for a new transaction, once the program's items and globals have
/// their effect ids.
pub(crate) fn take_record_here() -> &'static Record {
    crate::registry::give_effect_ids();
    record::take()
}

/// Gives a record back: in a patch, to the program.
fn free_record(record: &'static Record) {
    match context::host() {
        Some(context) => {
            let _ = context::call::<FreeRecord>(context, &record);
        }
        None => record::free(record),
    }
}

/// A record of the program's for a patch's new transaction (`take_record_here`).
pub(crate) struct TakeRecord;

// SAFETY: `TAKE_RECORD` is this operation's alone, and `host.rs` serves it with
// `serve::<TakeRecord>`.
unsafe impl Op for TakeRecord {
    const ID: u32 = op::TAKE_RECORD;
    type Input = ();
    type Output = &'static Record;
}

/// Gives a record a patch's transaction took back to the program (`record::free`).
pub(crate) struct FreeRecord;

// SAFETY: `FREE_RECORD` is this operation's alone, and `host.rs` serves it with
// `serve::<FreeRecord>`.
unsafe impl Op for FreeRecord {
    const ID: u32 = op::FREE_RECORD;
    type Input = &'static Record;
    type Output = ();
}

/// The calling thread's own record, made on its first transaction.
#[cold]
#[inline(never)]
fn own_record() -> &'static Record {
    let record = take_record();
    // SAFETY: as in `note`.
    unsafe { (*tls::local()).own.set(record) };
    release_at_exit();
    record
}

/// Gives the thread's own record back when the thread exits, ending a transaction a thread
/// left open (an `Entered` that was forgotten).
fn release_at_exit() {
    struct Release;
    impl Drop for Release {
        fn drop(&mut self) {
            // SAFETY: as in `note`; `LOCAL` has no destructor and outlives this one.
            let state = unsafe { &*tls::local() };
            let own = state.own.replace(ptr::null());
            // SAFETY: null or one of the program's records.
            if let Some(record) = unsafe { own.as_ref() } {
                // A transaction left open (a forgotten `Entered`) ends with the thread: code
                // that runs later on this thread (another destructor) must not write into a
                // record another thread may take next.
                if ptr::eq(state.current.get(), own) {
                    state.current.set(ptr::null());
                }
                record.footprint.end();
                free_record(record);
            }
        }
    }
    thread_local! {
        static RELEASE: Release = const { Release };
    }
    // In a patch this is the patch's thread-local: its destructor runs at this thread's exit
    // all the same, and gives the record back through the program.
    // During the thread's teardown (a transaction in another thread-local's destructor) the
    // record cannot be given back at exit any more: it stays the thread's, unused after.
    let _ = RELEASE.try_with(|_| {});
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{effects_of, Effects, WORDS};
    use crate::record::open_conflicting;

    use super::note_call as note;

    fn effects_now() -> Effects {
        // SAFETY: as in `note`.
        unsafe { (*tls::local()).current.get().as_ref() }
            .map_or([0; WORDS], |record| record.footprint.effects())
    }

    #[test]
    fn a_transaction_records_the_items_it_calls_and_nests() {
        assert!(!in_transaction());
        {
            let _outer = enter(Location::caller());
            note(3);
            {
                let _inner = enter(Location::caller());
                note(70);
            }
            assert!(in_transaction(), "the inner transaction is part of the outer one");
            assert_eq!(effects_now(), effects_of([3, 70]));
        }
        assert!(!in_transaction());
        note(5); // outside: recorded nowhere
        transaction(|| assert_eq!(effects_now(), [0; WORDS], "a new transaction starts empty"));
    }

    #[test]
    fn a_panic_ends_the_transaction() {
        let caught = std::panic::catch_unwind(|| {
            transaction(|| {
                note(1);
                panic!("inside");
            })
        });
        assert!(caught.is_err());
        assert!(!in_transaction());
        assert!(open_conflicting(&effects_of([1])).is_empty());
    }

    #[test]
    fn a_movable_transaction_keeps_its_effects_across_threads() {
        let mut moved = Transaction::begin();
        moved.run(|| note(9));
        assert!(!in_transaction());
        let moved = std::thread::spawn(move || {
            moved.run(|| note(10));
            moved
        })
        .join()
        .unwrap();
        let changed = effects_of([9]);
        assert!(open_conflicting(&changed).iter().any(|o| o.contains("transaction.rs")));
        assert_eq!(moved.record.footprint.effects(), effects_of([9, 10]));
        drop(moved);
        assert!(open_conflicting(&effects_of([9, 10])).is_empty());
    }

    #[test]
    fn a_piece_run_inside_another_transaction_binds_the_two() {
        let mut moved = Transaction::begin();
        moved.run(|| note(20));
        transaction(|| {
            note(21);
            moved.run(|| note(22));
            assert_eq!(effects_now(), effects_of([20, 21, 22]));
        });
        assert_eq!(moved.record.footprint.effects(), effects_of([20, 21, 22]));
    }
}
