//! The indirection every updateable call goes through.
//!
//! Each image (the program and every patch) has one slot per updateable item it contains.
//! The item's stub loads the slot and calls what it finds; an update stores the new
//! implementation into the slots of every image that has the item, so old code and new code
//! alike reach the current version.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::size_of;
use std::sync::atomic::Ordering;

use crate::cell::SlotCell;
use crate::unwind::Returned;

/// A function pointer of type `F` that an update can swap while other threads call it.
///
/// The runtime only ever stores into a slot the implementation of the same item (same path,
/// same signature fingerprint) from another image, which has the same type `F`. Only the code
/// `#[dsu::updateable]` writes uses it.
#[doc(hidden)]
pub struct Slot<F> {
    /// What the runtime stores into.
    cell: SlotCell,
    /// This image's implementation, the slot's first value.
    own: *const (),
    _type: PhantomData<F>,
}

// SAFETY: the cell is atomic and `own` is a code address that is never written after `new`.
unsafe impl<F> Sync for Slot<F> {}

/// Converts between a function pointer and an untyped one.
union Code<F: Copy> {
    typed: F,
    untyped: *const (),
}

impl<F: Copy> Slot<F> {
    /// A slot holding `implementation`, a function pointer.
    pub const fn new(implementation: F) -> Self {
        const { assert!(size_of::<F>() == size_of::<*const ()>(), "a slot holds a function pointer") };
        // SAFETY: `F` has the size of a pointer (checked above) and is a function pointer type,
        // so its value is a code address.
        let untyped = unsafe { Code { typed: implementation }.untyped };
        Slot { cell: SlotCell::new(untyped), own: untyped, _type: PhantomData }
    }

    /// Records the call in the transaction the thread runs in, if any. The stub calls this
    /// before `foreign`, so that an update either sees the call or holds it (`gate.rs`).
    #[inline(always)]
    pub fn note(&self) {
        // Relaxed: both are written before any code that calls through this slot runs.
        crate::transaction::note(self.cell.access.load(Ordering::Relaxed), &self.cell.effect);
    }

    /// The implementation to call now.
    #[cfg(test)]
    pub(crate) fn get(&self) -> F {
        let untyped = self.cell.code.load(Ordering::Acquire);
        // SAFETY: the slot only ever holds a value of `F`: its initial one, or an
        // implementation of the same item from another image, stored by the runtime.
        unsafe { Code::<F> { untyped }.typed }
    }

    /// The implementation to call now, unless it is this image's own: then `None`, and the
    /// stub calls its implementation directly.
    #[inline(always)]
    pub fn foreign(&self) -> Option<F> {
        // Acquire pairs with the Release in `SlotCell::set`.
        let untyped = self.cell.code.load(Ordering::Acquire);
        if std::ptr::eq(untyped, self.own) {
            None
        } else {
            // SAFETY: as in `get`.
            Some(unsafe { Code::<F> { untyped }.typed })
        }
    }

    /// The value of a call through a foreign implementation's bridge, or its panic raised
    /// again in this image (see `unwind.rs`).
    #[inline(always)]
    pub fn finish<R>(&self, returned: Returned<R>) -> R {
        crate::unwind::finish(returned)
    }

    /// The value of a call of an `async fn` through a foreign implementation's bridge: the
    /// future it handed over, awaited, its panics raised again in this image, as `finish`.
    #[inline(always)]
    pub fn finish_async<R, Fut>(&self, returned: Returned<Fut>) -> impl Future<Output = R>
    where
        Fut: Future<Output = Returned<R>>,
    {
        crate::future::finish(crate::unwind::finish(returned))
    }

    /// The address of the slot's cell, which the runtime stores through (`cell::slot_of`).
    pub const fn as_erased(&'static self) -> *const () {
        (&self.cell as *const SlotCell).cast()
    }
}

impl<F> fmt::Debug for Slot<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.cell.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one() -> u32 {
        1
    }

    fn two() -> u32 {
        2
    }

    #[test]
    fn a_stored_implementation_is_called() {
        static SLOT: Slot<fn() -> u32> = Slot::new(one);
        assert_eq!((SLOT.get())(), 1);
        assert!(SLOT.foreign().is_none(), "the image's own implementation is called directly");
        let erased = &SLOT.cell;
        erased.set(two as fn() -> u32 as *const ());
        assert_eq!((SLOT.get())(), 2);
        assert_eq!(SLOT.foreign().map(|f| f()), Some(2));
        // Back to the address the slot started with. (Miri gives every cast of a function to
        // a pointer an address of its own; compiled code has one per function.)
        erased.set(SLOT.own);
        assert!(SLOT.foreign().is_none(), "back to its own");
    }
}
