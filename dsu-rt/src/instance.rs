//! The values that outlive updates, as the runtime holds them: a global's live value and a
//! state cell's each sit in an instance, a header the runtime reads without knowing the
//! value's type, then the value.
//!
//! The header carries the fingerprint of the value's type, which every access compares with
//! the type its code was compiled for, and the function that drops the instance, of the image
//! that made it: an instance an update made from a patch's type is dropped by the patch's code,
//! whichever image's code lets go of it.

use std::mem::{offset_of, MaybeUninit};
use std::panic::{self, AssertUnwindSafe};

use dsu_abi::Hash128;

/// What every instance starts with, whatever its value's type.
#[repr(C)]
pub(crate) struct Header {
    /// The fingerprint of the value's type.
    pub(crate) fingerprint: Hash128,
    /// Drops the instance and frees it: `drop_instance` of the value's type, in the image that
    /// made it.
    drop: unsafe extern "C" fn(*mut ()),
}

/// A value behind its header.
#[repr(C)]
pub(crate) struct Instance<T> {
    header: Header,
    value: T,
}

impl<T> Instance<T> {
    /// Checked wherever an instance is made or read as `T`: the header is at offset 0, where
    /// `header` reads it without knowing `T`.
    const HEADER_FIRST: () = assert!(offset_of!(Instance<T>, header) == 0);

    /// A new instance of `value`, whose type has `fingerprint`, on the heap: never moved, and
    /// freed only by `dispose`.
    pub(crate) fn boxed(fingerprint: Hash128, value: T) -> *const () {
        let () = Self::HEADER_FIRST;
        let header = Header { fingerprint, drop: drop_instance::<T> };
        let made: *mut Instance<T> = Box::into_raw(Box::new(Instance { header, value }));
        made.cast_const().cast()
    }

    /// The value of `instance`.
    ///
    /// # Safety
    ///
    /// `instance` must be a live `Instance<T>` (its fingerprint is `T`'s) that outlives `'a`,
    /// with no `&mut` to its value meanwhile.
    pub(crate) unsafe fn value<'a>(instance: *const ()) -> &'a T {
        let () = Self::HEADER_FIRST;
        // SAFETY: the caller's contract.
        unsafe { &(*instance.cast::<Instance<T>>()).value }
    }

    /// The value of `instance`, to change.
    ///
    /// # Safety
    ///
    /// As for `value`, and no other reference to the value lives meanwhile.
    pub(crate) unsafe fn value_mut<'a>(instance: *const ()) -> &'a mut T {
        let () = Self::HEADER_FIRST;
        // SAFETY: the caller's contract.
        unsafe { &mut (*instance.cast_mut().cast::<Instance<T>>()).value }
    }
}

/// What a transformer writes: the new instance and how many values it made, or its panic.
pub(crate) type Transformed = Result<(*const (), u64), String>;

/// Runs a transformer a patch exports (a global's or an updateable type's, either way) on
/// `instance`: the new instance and how many values it made, or the message of the
/// transformer's panic.
///
/// # Safety
///
/// `instance` must be a live instance of the type the transformer reads.
pub(crate) unsafe fn convert(
    transformer: unsafe extern "C" fn(*const (), *mut ()),
    instance: *const (),
) -> Transformed {
    let mut out = MaybeUninit::<Transformed>::uninit();
    // SAFETY: `instance` as the caller says; `out` is a `Result` of this build's layout (the
    // patch's build fingerprint equals ours), written before the transformer returns, unwinding
    // or not (it catches the transformation's panic).
    unsafe {
        transformer(instance, out.as_mut_ptr().cast());
        out.assume_init()
    }
}

/// The fingerprint an instance of any type carries.
///
/// # Safety
///
/// `instance` must point to a live instance of some type.
pub(crate) unsafe fn fingerprint_of(instance: *const ()) -> Hash128 {
    // SAFETY: an `Instance<T>` starts with its `Header` whatever `T` is (`repr(C)`, first
    // field: asserted by `Instance::HEADER_FIRST` wherever one is made).
    unsafe { (*instance.cast::<Header>()).fingerprint }
}

/// Drops the instance and its value, with the code of the image that made it. A panic of the
/// value's `Drop` is caught there (the panic hook prints it): the memory is freed all the same.
///
/// # Safety
///
/// `instance` must be a live instance that nothing reads any more.
pub(crate) unsafe fn dispose(instance: *const ()) {
    // SAFETY: as in `fingerprint_of`; `drop` is the dropping function its maker wrote, in an
    // image that is never unloaded.
    unsafe {
        let drop = (*instance.cast::<Header>()).drop;
        drop(instance.cast_mut());
    }
}

/// The `drop` of an `Instance<T>`.
///
/// # Safety
///
/// `instance` must be an `Instance<T>` made by `Instance::boxed`, which nothing reads any more.
unsafe extern "C" fn drop_instance<T>(instance: *mut ()) {
    // SAFETY: the contract: made by `Box::into_raw` of this image (all images allocate from the
    // program's heap), and no longer read.
    let instance = unsafe { Box::from_raw(instance.cast::<Instance<T>>()) };
    // A panic must not unwind out of an `extern "C"` function.
    let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(instance)));
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn an_instance_is_read_and_dropped_without_its_type() {
        static DROPPED: AtomicUsize = AtomicUsize::new(0);
        struct Counted(u32);
        impl Drop for Counted {
            fn drop(&mut self) {
                DROPPED.fetch_add(self.0 as usize, Ordering::Relaxed);
            }
        }
        let made = Instance::boxed(Hash128::new(7), Counted(3));
        // SAFETY: just made, of `Counted`; nothing reads it after `dispose`.
        unsafe {
            assert_eq!(fingerprint_of(made), Hash128::new(7));
            assert_eq!(Instance::<Counted>::value(made).0, 3);
            dispose(made);
        }
        assert_eq!(DROPPED.load(Ordering::Relaxed), 3);
    }
}
