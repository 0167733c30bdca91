//! The indirection every updateable call goes through.
//!
//! Each image (the program and every patch) has one slot per updateable item it contains.
//! The item's stub loads the slot and calls what it finds; an update stores the new
//! implementation into the slots of every image that has the item, so old code and new code
//! alike reach the current version.

use std::fmt;
use std::marker::PhantomData;
use std::mem::size_of;
use std::sync::atomic::{AtomicIsize, AtomicPtr, AtomicU32, Ordering};

use crate::unwind::Returned;

/// A function pointer of type `F` that an update can swap while other threads call it.
///
/// The runtime only ever stores into a slot the implementation of the same item (same path,
/// same signature fingerprint) from another image, which has the same type `F`.
#[repr(C)] // `ErasedSlot`'s fields first: the runtime stores through a `*const ErasedSlot`.
pub struct Slot<F> {
    code: AtomicPtr<()>,
    /// The item's effect id, which transactions record (see `transaction.rs`): the same in
    /// every image, given by the registry before any transaction runs.
    effect: AtomicU32,
    /// How this image reaches the program's thread state (`tls::local_by`): 0 in the program,
    /// given to a patch's slots before its commit. Kept in the slot, next to `code`, so that
    /// a call finds it on the line it reads anyway.
    access: AtomicIsize,
    /// This image's implementation, the slot's first value.
    own: *const (),
    _type: PhantomData<F>,
}

// SAFETY: `code` is atomic and `own` is a code address that is never written after `new`.
unsafe impl<F> Sync for Slot<F> {}

/// The form of every slot the runtime stores into: the pointer without its type.
#[repr(C)]
pub(crate) struct ErasedSlot {
    code: AtomicPtr<()>,
    effect: AtomicU32,
    access: AtomicIsize,
}

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
        Slot {
            code: AtomicPtr::new(untyped.cast_mut()),
            effect: AtomicU32::new(0),
            access: AtomicIsize::new(0),
            own: untyped,
            _type: PhantomData,
        }
    }

    /// Records the call in the transaction the thread runs in, if any. The stub calls this
    /// before `foreign`, so that an update either sees the call or holds it (`gate.rs`).
    #[inline(always)]
    pub fn note(&self) {
        // Relaxed: both are written before any code that calls through this slot runs.
        crate::transaction::note(self.access.load(Ordering::Relaxed), &self.effect);
    }

    /// The implementation to call now.
    #[cfg(test)]
    pub(crate) fn get(&self) -> F {
        let untyped = self.code.load(Ordering::Acquire);
        // SAFETY: the slot only ever holds a value of `F`: its initial one, or an
        // implementation of the same item from another image, stored by the runtime.
        unsafe { Code::<F> { untyped }.typed }
    }

    /// The implementation to call now, unless it is this image's own: then `None`, and the
    /// stub calls its implementation directly.
    #[inline(always)]
    pub fn foreign(&self) -> Option<F> {
        // Acquire pairs with the Release in `ErasedSlot::set`: a thread that calls a patch's
        // code sees everything the updater wrote before the commit (the patch's attached
        // context, the other slots of the patch image).
        let untyped = self.code.load(Ordering::Acquire);
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

    /// The address the runtime stores through.
    pub const fn as_erased(&'static self) -> *const () {
        (self as *const Self).cast()
    }
}

impl<F> fmt::Debug for Slot<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Slot").field(&self.code.load(Ordering::Relaxed)).finish()
    }
}

impl ErasedSlot {
    /// Switches the slot to another implementation of the same item.
    pub(crate) fn set(&self, implementation: *const ()) {
        // Release: see `Slot::foreign`.
        self.code.store(implementation.cast_mut(), Ordering::Release);
    }

    /// Tells a patch's slot how to reach the program's thread state. Done before the commit,
    /// before any code calls through it.
    pub(crate) fn set_access(&self, access: isize) {
        self.access.store(access, Ordering::Relaxed);
    }

    /// Gives the slot its item's effect id. Done before any transaction can call through it:
    /// for the program's slots when the registry is made, for a patch's before its commit.
    pub(crate) fn set_effect(&self, id: u32) {
        self.effect.store(id, Ordering::Relaxed);
    }
}

impl fmt::Debug for ErasedSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Slot").field(&self.code.load(Ordering::Relaxed)).finish()
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
        // SAFETY: `as_erased` points at the `static` above, which starts with `ErasedSlot`'s
        // fields.
        let erased = unsafe { &*SLOT.as_erased().cast::<ErasedSlot>() };
        erased.set(two as fn() -> u32 as *const ());
        assert_eq!((SLOT.get())(), 2);
        assert_eq!(SLOT.foreign().map(|f| f()), Some(2));
        // Back to the address the slot started with. (Miri gives every cast of a function to
        // a pointer an address of its own; compiled code has one per function.)
        erased.set(SLOT.own);
        assert!(SLOT.foreign().is_none(), "back to its own");
    }
}
