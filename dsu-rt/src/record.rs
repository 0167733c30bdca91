//! Transaction records: what one transaction has done, on a record that is reused for the
//! next one, and the program's list of every record, which the updater scans.
//!
//! Records belong to the program and are never freed: the updater and patch code may hold
//! them. A patch's code makes and gives back records through the host context
//! (`transaction.rs`).

use std::panic::Location;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use parking_lot::Mutex;

use crate::gate::{self, Gate};
use crate::protocol::{Effects, Footprint};

/// The state of one transaction.
///
/// Only the thread running the transaction writes it; the updater reads the footprint and
/// the origin. Two cache lines of its own, so that no other thread's writes share them.
#[repr(C, align(128))]
pub(crate) struct Record {
    /// Whether the transaction is open, and the items it has called.
    pub(crate) footprint: Footprint,
    /// Where the transaction began.
    origin: AtomicPtr<Location<'static>>,
    /// The program's gate: a patch's code reaches it through the record.
    gate: &'static Gate,
    /// Whether the transaction runs a poll of an async transaction now: meeting a waiting
    /// update there, it binds itself to the old version rather than wait (`gate::held`).
    /// Owner-only.
    polling: AtomicBool,
}

const _: () = assert!(size_of::<Record>() == 128, "a record is two cache lines");

impl Record {
    fn new() -> Record {
        Record {
            footprint: Footprint::new(),
            origin: AtomicPtr::new(ptr::null_mut()),
            gate: gate::gate(),
            polling: AtomicBool::new(false),
        }
    }

    /// Opens a transaction on the record, with no effects yet.
    #[inline(always)]
    pub(crate) fn begin(&self, origin: &'static Location<'static>) {
        // Relaxed: read by the updater for its report only. A thread enters the same
        // transactions again and again: a store only when it changes saves one.
        let origin = ptr::from_ref(origin).cast_mut();
        if self.origin.load(Ordering::Relaxed) != origin {
            self.origin.store(origin, Ordering::Relaxed);
        }
        self.footprint.begin();
    }

    /// Notes a call of the item with effect id `id`, before the call reads the item's slot.
    #[inline(always)]
    pub(crate) fn note(&self, id: u32) {
        if self.footprint.note(id, &self.gate.pending) {
            (self.gate.held)(&self.footprint, id, self.polling.load(Ordering::Relaxed));
        }
    }

    /// Sets whether the transaction runs a poll of an async transaction; what it was.
    pub(crate) fn set_polling(&self, polling: bool) -> bool {
        // A load and a store, not a swap: only the thread running the transaction writes the
        // flag, and reads it (`note`), so no ordering is needed and no locked instruction.
        let was = self.polling.load(Ordering::Relaxed);
        if was != polling {
            self.polling.store(polling, Ordering::Relaxed);
        }
        was
    }

    /// Whether the transaction runs a poll of an async transaction.
    pub(crate) fn polling(&self) -> bool {
        self.polling.load(Ordering::Relaxed)
    }

    /// Whether the transaction on the record must wait for the waiting update before its next
    /// poll: then `waker` is woken when the update has ended (`gate::wait_at_boundary`).
    pub(crate) fn waits_at_boundary(&self, waker: &std::task::Waker) -> bool {
        // Looked at here first, inline: no update waits, nearly always. The program's code
        // looks again, and keeps the waker.
        self.gate.pending.holds_at_boundary(&self.footprint)
            && (self.gate.wait_at_boundary)(&self.footprint, waker)
    }

    /// Where the transaction on the record began, for messages.
    pub(crate) fn origin(&self) -> String {
        describe(self.origin.load(Ordering::Relaxed))
    }
}

/// Where a transaction began, from its record's `origin`: the place, and the release whose
/// image holds it.
fn describe(origin: *mut Location<'static>) -> String {
    // SAFETY: `origin` is null or a `&'static Location`.
    let Some(location) = (unsafe { origin.as_ref() }) else {
        return "transaction".to_owned();
    };
    // The `Location` is a static of the image whose code began the transaction.
    match crate::images::release_of(origin.cast_const().cast()) {
        Some(release) => format!("transaction begun at {location} in {release}"),
        None => format!("transaction begun at {location}"),
    }
}

/// Every record the program has made, and those free for a new transaction.
struct Records {
    all: Vec<&'static Record>,
    free: Vec<&'static Record>,
}

static RECORDS: Mutex<Records> = Mutex::new(Records { all: Vec::new(), free: Vec::new() });

/// A record of this image's for a new transaction: a free one, or a new one.
pub(crate) fn take() -> &'static Record {
    let mut records = RECORDS.lock();
    if let Some(record) = records.free.pop() {
        return record;
    }
    let record: &'static Record = Box::leak(Box::new(Record::new()));
    records.all.push(record);
    record
}

/// Gives a record back, for a later transaction.
pub(crate) fn free(record: &'static Record) {
    RECORDS.lock().free.push(record);
}

/// Where the open transactions that have called any of `changed` began.
pub(crate) fn open_conflicting(changed: &Effects) -> Vec<String> {
    // The release of each origin is looked up after the lock is released: `dladdr` takes the
    // loader's lock, which a thread inside a library's constructor holds while it may start a
    // transaction, and so take this one.
    let origins: Vec<*mut Location<'static>> = RECORDS
        .lock()
        .all
        .iter()
        .filter(|record| record.footprint.conflicts_with(changed))
        .map(|record| record.origin.load(Ordering::Relaxed))
        .collect();
    origins.into_iter().map(describe).collect()
}
