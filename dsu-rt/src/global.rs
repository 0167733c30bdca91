//! Updateable global state: one live instance per `#[dsu::updateable] static`, which the
//! program's code and every patch's code reach.
//!
//! Each image has its own `static Global<T>` for the global. The program's makes the instance
//! on first use; when a patch loads, the runtime points the patch's cell at that same instance,
//! so state outlives every update. Access is scoped: `with` runs a closure inside a
//! transaction that counts the global among its effects, so an update that would change the
//! global waits until no one is inside such a closure, and no reference to the value outlives
//! it.
//!
//! The instance (`instance.rs`) carries the fingerprint of its type. An access checks it against the type the
//! accessing code was compiled with (one compare): code of one version never reads a value of
//! another version's type, it panics with a message that names the global instead.

use std::fmt;
use std::marker::PhantomData;
use std::panic::Location;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::sync::Once;

use dsu_abi::{Hash128, Shape};

use crate::cell::GlobalCell;
use crate::fingerprint::{of_str, shape, shape_of, Fingerprint, ShapeOf};
use crate::instance::{fingerprint_of, Instance, Transformed};
use crate::transform::Transform;

/// An updateable global of type `T`, made by `#[dsu::updateable] static NAME: T = init;`.
///
/// Reach the value with [`with`](Global::with). For state that changes, `T` holds its own
/// synchronisation (a `Mutex`, atomics): every thread shares the one instance.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
///
/// #[dsu::updateable]
/// static SESSIONS: Mutex<HashMap<String, u32>> = Mutex::new(HashMap::new());
///
/// SESSIONS.with(|sessions| sessions.lock().unwrap().insert("ada".to_owned(), 1));
/// let open = SESSIONS.with(|sessions| sessions.lock().unwrap().len());
/// assert_eq!(open, 1);
/// ```
///
/// Like every type of dsu, its page lists blanket implementations of abi_stable's traits
/// (`SelfOps` and others): rustdoc shows them because dsu depends on abi_stable, and cannot
/// hide a blanket impl. They are no part of dsu's API.
pub struct Global<T: 'static> {
    /// What the runtime stores into: the live instance and the global's effect id.
    cell: GlobalCell,
    /// Makes this image's own instance, once.
    made: Once,
    init: fn() -> T,
    /// `T`'s shape, for the descriptor.
    shape: Shape,
    /// `T`'s fingerprint, which the instance carries, as halves: worked out from `shape` on
    /// first use, (0, 0) until then. Only ever a shortcut (`is_own_type`).
    fingerprint: [AtomicU64; 2],
    path: &'static str,
    _type: PhantomData<T>,
}

// SAFETY: the instance is shared by every thread, so `T` must be `Sync`; it is made once under
// `made`, never moved, and freed only after an update replaced it, when no transaction can
// reach it (`census::Retired`); the other fields are atomics or never written.
unsafe impl<T: Sync> Sync for Global<T> {}

/// `T`'s shape, as a global of `T` has it: what `Global::new` takes.
#[doc(hidden)]
pub struct Fingerprinted<T: ?Sized>(Shape, PhantomData<fn() -> T>);

/// The node of the shape a global has: the global's type is its one part.
const GLOBAL: u128 = of_str("global");

/// `T`'s shape as a global's, for a `T` with a fingerprint.
#[doc(hidden)]
pub const fn fingerprinted<T: Fingerprint + ?Sized>() -> Fingerprinted<T> {
    Fingerprinted(shape(GLOBAL, &[ShapeOf(shape_of::<T>)]), PhantomData)
}

impl<T: ?Sized> Fingerprinted<T> {
    /// The shape a global of `T` has, from `T`'s shape function as the macros probe it (a type
    /// of another crate has one too, see `foreign.rs`).
    ///
    /// # Safety
    ///
    /// `of` must give `T`'s shape: the runtime reads an instance as `T` when its fingerprint is
    /// this shape's.
    #[doc(hidden)]
    pub const unsafe fn probed(of: &'static [ShapeOf; 1]) -> Fingerprinted<T> {
        Fingerprinted(shape(GLOBAL, of), PhantomData)
    }

    /// The shape.
    #[doc(hidden)]
    pub const fn shape(&self) -> Shape {
        self.0
    }
}

impl<T: 'static> Global<T> {
    /// A global whose value `init` makes on first use. `path` names the global in messages.
    /// What `#[dsu::updateable] static` writes.
    #[doc(hidden)]
    pub const fn new(path: &'static str, init: fn() -> T, fingerprint: Fingerprinted<T>) -> Self {
        Global {
            cell: GlobalCell::new(),
            made: Once::new(),
            init,
            shape: fingerprint.0,
            fingerprint: [AtomicU64::new(0), AtomicU64::new(0)],
            path,
            _type: PhantomData,
        }
    }

    /// The shape of `T`, for the global's descriptor.
    #[doc(hidden)]
    pub const fn shape(&self) -> Shape {
        self.shape
    }

    /// The fingerprint of `T`, worked out, and kept for `is_own_type`.
    #[cold]
    fn fingerprint(&self) -> Hash128 {
        let own = crate::shape::fingerprint_or_unique(&self.shape, self as *const Self as usize);
        // Relaxed: a thread that reads a half of it, or none, only works it out again.
        self.fingerprint[0].store(own.low, Ordering::Relaxed);
        self.fingerprint[1].store(own.high, Ordering::Relaxed);
        own
    }

    /// Whether `fingerprint`, an instance's, is `T`'s: the kept one first (two loads), and the
    /// one worked out when they differ, so that a half-kept value never refuses a value.
    #[inline]
    fn is_own_type(&self, fingerprint: Hash128) -> bool {
        let kept = Hash128 {
            low: self.fingerprint[0].load(Ordering::Relaxed),
            high: self.fingerprint[1].load(Ordering::Relaxed),
        };
        kept == fingerprint || self.fingerprint() == fingerprint
    }

    /// The address of the global's cell, which the runtime stores through
    /// (`cell::global_of`). What the global's descriptor holds.
    #[doc(hidden)]
    pub const fn as_erased(&'static self) -> *const () {
        (&self.cell as *const GlobalCell).cast()
    }
}

std::thread_local! {
    /// How many values of the program's types this thread's transformers made.
    static COUNTED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts one value a `Transform` impl that `#[dsu::transform]` or a derive wrote makes: the
/// values an update converted, for its report.
#[doc(hidden)]
#[inline]
pub fn counted() {
    COUNTED.with(|counted| counted.set(counted.get() + 1));
}

/// Makes an instance of `T`, whose fingerprint is made of `shape`, from `old`, an instance of
/// `O`, catching the transformer's panic: what the function a patch exports to convert a global
/// calls (`#[dsu::updateable(was = O)]`), and the one back for a rollback.
///
/// # Safety
///
/// `shape` must be the shape the instances of `T` carry the fingerprint of (a global's,
/// `Fingerprinted::shape`; an updateable type's, `Kind::shape`), `old` must point to a live
/// `Instance<O>` (the runtime checked its fingerprint against `O`'s) and `out` to a
/// `Transformed` to write, both of this build's layout.
#[doc(hidden)]
pub unsafe fn transformed<T: Transform<O>, O>(shape: &Shape, old: *const (), out: *mut ()) {
    let fingerprint = |old: usize| crate::shape::fingerprint_or_unique(shape, old);
    // SAFETY: the caller's contract.
    unsafe { transformed_by::<T, O>(fingerprint, old, out) }
}

/// As `transformed`, with the fingerprint worked out once and kept in `kept`: for the
/// transformer of an updateable type, which converts every cell of it.
///
/// # Safety
///
/// As for `transformed`, and `kept` is only ever given this `shape`.
#[doc(hidden)]
pub unsafe fn transformed_kept<T: Transform<O>, O>(
    shape: &Shape,
    kept: &std::sync::OnceLock<Hash128>,
    old: *const (),
    out: *mut (),
) {
    let fingerprint =
        |old: usize| *kept.get_or_init(|| crate::shape::fingerprint_or_unique(shape, old));
    // SAFETY: the caller's contract.
    unsafe { transformed_by::<T, O>(fingerprint, old, out) }
}

/// `transformed`, with the new instance's fingerprint from `fingerprint` (given the old value's
/// address, for a shape the runtime refuses).
///
/// # Safety
///
/// As for `transformed`, `fingerprint` giving the fingerprint of `T`'s instances.
unsafe fn transformed_by<T: Transform<O>, O>(
    fingerprint: impl FnOnce(usize) -> Hash128,
    old: *const (),
    out: *mut (),
) {
    // The values another conversion counts meanwhile (one this transformer reads) are its own.
    let before = COUNTED.with(std::cell::Cell::get);
    let result = crate::unwind::quietly(|| {
        // SAFETY: `old` is a live `Instance<O>`, only read, not freed before this returns (the
        // caller's contract).
        let old = unsafe { Instance::<O>::value(old) };
        let value = T::transform(old);
        // The runtime refused the update if the shape reaches a type it cannot see.
        Instance::boxed(fingerprint(old as *const O as usize), value)
    });
    let values = COUNTED.with(|counted| counted.replace(before)) - before;
    let result: Transformed = result.map(|made| (made, values));
    // SAFETY: `out` points to a `Transformed` to write (the caller's contract).
    unsafe { out.cast::<Transformed>().write(result) };
}

impl<T: Sync + 'static> Global<T> {
    /// Writes the instance this image's code reaches, or the panic of the initialiser that
    /// would have made it, to `out`: what the `instance` function of the global's descriptor
    /// does. Catches the panic: the runtime calls it through an `extern "C"` function.
    ///
    /// # Safety
    ///
    /// `out` must point to a `Result<*const (), String>` to write.
    #[doc(hidden)]
    pub unsafe fn instance_into(&'static self, out: *mut ()) {
        let result = crate::unwind::quietly(|| self.own_instance());
        // SAFETY: `out` points to a `Result<*const (), String>` to write (the contract).
        unsafe { out.cast::<Result<*const (), String>>().write(result) };
    }

    /// Runs `access` with the global's value, inside a transaction (nested in the caller's, if
    /// any) that counts the global among its effects: an update that changes the global waits
    /// until `access` has returned, and the reference cannot outlive it.
    ///
    /// # Panics
    ///
    /// If the live value is of another version's type: the code calling `with` was left live
    /// by an update that changed the global's type (dsu refuses such updates; this is the
    /// last line of defence).
    #[track_caller]
    #[inline]
    pub fn with<R>(&'static self, access: impl FnOnce(&T) -> R) -> R {
        let transaction = crate::transaction::enter(Location::caller());
        transaction.note(&self.cell.effect);
        let instance = self.live_instance();
        // SAFETY: `live_instance` points to an instance of some type, which lives until an
        // update replaces it and no transaction has the global among its effects, as this one
        // does.
        let fingerprint = unsafe { fingerprint_of(instance) };
        if !self.is_own_type(fingerprint) {
            stale(self.path);
        }
        // SAFETY: the fingerprint says the instance's type is `T`: `is_own_type` compares it
        // with `T`'s (only `fingerprinted::<T>` makes the shape it is of, and a kept half is
        // only ever a half of it, which no other value has), and `Fingerprint`'s contract makes
        // equal fingerprints mean the same type across images, whose layouts the build check
        // pins. The instance lives while this transaction is open, and shared references are
        // all `with` hands out.
        access(unsafe { Instance::<T>::value(instance) })
    }

    /// The live instance, made from this image's initialiser if no image made one before.
    fn live_instance(&'static self) -> *const () {
        // Acquire: pairs with the Release that published the instance, here or in the runtime.
        let live = self.cell.live.load(Ordering::Acquire);
        if live.is_null() {
            self.own_instance()
        } else {
            live
        }
    }

    /// The live instance, which this image makes from its initialiser if no image has made
    /// one yet. Once the runtime has pointed the cell at another image's instance (or at a
    /// converted one), or told a patch's cell where the program's is, the initialiser never
    /// runs. Out of line: `with` reaches it only before the first instance is made.
    #[cold]
    #[inline(never)]
    fn own_instance(&'static self) -> *const () {
        // Acquire: as in `live_instance`.
        let live = self.cell.live.load(Ordering::Acquire);
        if !live.is_null() {
            return live;
        }
        if let Some(made) = self.cell.elsewhere() {
            return made.unwrap_or_else(|message| panic!("{message}"));
        }
        self.made.call_once(|| {
            let made = Instance::boxed(self.fingerprint(), (self.init)()).cast_mut();
            // Only if no instance is live yet: the runtime may have pointed the cell at
            // another image's meanwhile, which then stays the live one.
            let _ = self.cell.live.compare_exchange(
                std::ptr::null_mut(),
                made,
                Ordering::Release,
                Ordering::Relaxed,
            );
        });
        self.cell.live.load(Ordering::Acquire)
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn stale(path: &str) -> ! {
    panic!(
        "the global `{path}` holds a value of another version's type: this code was left \
         running by an update that changed the global's type"
    )
}

impl<T> fmt::Debug for Global<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Global").field("path", &self.path).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use super::*;

    static COUNTER: Global<AtomicU64> =
        Global::new("tests::COUNTER", || AtomicU64::new(40), fingerprinted());

    #[test]
    fn the_instance_is_made_once_and_shared() {
        COUNTER.with(|counter| counter.fetch_add(1, Ordering::Relaxed));
        let threads: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| COUNTER.with(|c| c.fetch_add(1, Ordering::Relaxed))))
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(COUNTER.with(|counter| counter.load(Ordering::Relaxed)), 45);
    }

    #[test]
    fn another_images_instance_becomes_the_live_one() {
        static THERE: Global<u32> = Global::new("tests::SHARED", || 7, fingerprinted());
        static HERE: Global<u32> = Global::new("tests::SHARED", || 1, fingerprinted());
        let here = &HERE.cell;
        here.attach(THERE.own_instance(), 0);
        assert_eq!(HERE.with(|value| *value), 7, "the runtime's choice wins");
        assert_eq!(HERE.own_instance(), THERE.own_instance(), "one instance");
        assert!(!HERE.made.is_completed(), "its own initialiser never ran");
    }

    #[test]
    fn a_value_of_another_type_is_never_read() {
        static NEW: Global<u64> = Global::new("tests::CHANGED", || 1, fingerprinted());
        static OLD: Global<u32> = Global::new("tests::CHANGED", || 2, fingerprinted());
        let old = &OLD.cell;
        old.attach(NEW.own_instance(), 0);
        let caught = std::panic::catch_unwind(|| OLD.with(|value| *value));
        let message = caught.expect_err("a stale access panics");
        let message = message.downcast_ref::<String>().expect("a formatted message");
        assert!(message.contains("`tests::CHANGED` holds a value of another version's type"));
    }
}
