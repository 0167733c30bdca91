//! The cells the runtime stores into: in every image, one per updateable item (inside its
//! `Slot`), one per updateable global (inside its `Global`) and one per updateable type
//! (inside its `Kind`).
//!
//! The typed wrappers, `Slot<F>` in `slot.rs`, `Global<T>` in `global.rs` and `Kind` in
//! `state.rs`, hold a cell as a field and hand its address to their descriptor
//! (`ItemDesc::slot`, `GlobalDesc::global`, `TypeDesc::kind`), so the runtime reaches a cell of
//! any image without knowing `F` or `T`, and no claim about where a field lies inside a wrapper
//! is needed.

use std::fmt;
use std::sync::atomic::{AtomicIsize, AtomicPtr, AtomicU32, Ordering};

use dsu_abi::{GlobalDesc, ItemDesc, TypeDesc};

/// An item's cell in one image: the code every call of the item through this image runs.
#[repr(C)]
pub(crate) struct SlotCell {
    /// The implementation to call: this image's own at first, another image's after an update.
    pub(crate) code: AtomicPtr<()>,
    /// The item's effect id, which transactions record (see `transaction.rs`): the same in
    /// every image, given by the registry before any transaction runs.
    pub(crate) effect: AtomicU32,
    /// How this image reaches the program's thread state (`tls::local_by`): 0 in the program,
    /// given to a patch's cells before its commit. Kept here, next to `code`, so that a call
    /// finds it on the line it reads anyway.
    pub(crate) access: AtomicIsize,
}

impl SlotCell {
    pub(crate) const fn new(code: *const ()) -> SlotCell {
        SlotCell {
            code: AtomicPtr::new(code.cast_mut()),
            effect: AtomicU32::new(0),
            access: AtomicIsize::new(0),
        }
    }

    /// Switches the cell to another implementation of the same item.
    pub(crate) fn set(&self, implementation: *const ()) {
        // Release: pairs with the Acquire of every call (`Slot::foreign`): a thread that calls
        // a patch's code sees everything the updater wrote before the commit (the patch's
        // attached context, the other cells of the patch image).
        self.code.store(implementation.cast_mut(), Ordering::Release);
    }

    /// Tells a patch's cell how to reach the program's thread state. Done before the commit,
    /// before any code calls through it.
    pub(crate) fn set_access(&self, access: isize) {
        self.access.store(access, Ordering::Relaxed);
    }

    /// Gives the cell its item's effect id. Done before any transaction can call through it:
    /// for the program's cells when the registry is made, for a patch's before the commit makes
    /// the patch's code reachable (`Plan::prepare`, and `Plan::commit` before any switch).
    pub(crate) fn set_effect(&self, id: u32) {
        self.effect.store(id, Ordering::Relaxed);
    }
}

impl fmt::Debug for SlotCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Slot").field(&self.code.load(Ordering::Relaxed)).finish()
    }
}

/// A global's cell in one image: where that image's code finds the live instance.
#[repr(C)]
pub(crate) struct GlobalCell {
    /// The live instance: null until this image's is made or the runtime points the cell at
    /// another image's.
    pub(crate) live: AtomicPtr<()>,
    /// The global's effect id, as a slot's.
    pub(crate) effect: AtomicU32,
    /// Where a patch's cell of a global that another image has finds the instance while `live`
    /// is null: that image's `GlobalDesc::instance`. So a patch never makes an instance of its
    /// own of a global the program has, and no update runs an initialiser to attach it.
    forward: AtomicPtr<()>,
    /// While an update converts globals, where the patch's cells of the globals it converts or
    /// shares find their instances: the program's `convert::demand`, which makes each one when
    /// patch code (a transformer) first reads it. Null otherwise.
    demand: AtomicPtr<()>,
}

/// The function a global's instance comes from (`GlobalDesc::instance`): writes a
/// `Result<*const (), String>` to its argument.
pub(crate) type InstanceFn = unsafe extern "C" fn(out: *mut ());

/// The instance a global's descriptor gives (`GlobalDesc::instance`), made by its initialiser
/// if no image made it yet, or the initialiser's panic (also when an earlier panic poisoned
/// it).
pub(crate) fn instance(instance: InstanceFn) -> Result<*const (), String> {
    let mut out = std::mem::MaybeUninit::<Result<*const (), String>>::uninit();
    // SAFETY: `out` is a `Result` of this build's layout (an image's build fingerprint equals
    // the program's), which `instance` writes before it returns: it catches the initialiser's
    // panic.
    unsafe {
        instance(out.as_mut_ptr().cast());
        out.assume_init()
    }
}

/// The function a patch's cell asks for its instance while an update converts globals
/// (`convert::demand`): the cell's address, and a `Result<*const (), String>` to write.
pub(crate) type DemandFn = unsafe extern "C" fn(cell: *const GlobalCell, out: *mut ());

impl GlobalCell {
    pub(crate) const fn new() -> GlobalCell {
        GlobalCell {
            live: AtomicPtr::new(std::ptr::null_mut()),
            effect: AtomicU32::new(0),
            forward: AtomicPtr::new(std::ptr::null_mut()),
            demand: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// Lets a patch's cell reach the instance `instance` gives while its own `live` is null.
    /// Done before any code of the patch runs.
    pub(crate) fn forward_to(&self, instance: InstanceFn) {
        self.forward.store(instance as *mut (), Ordering::Release);
    }

    /// Sends the reads of a patch's cell to `demand` while an update converts (`None` after).
    pub(crate) fn set_demand(&self, demand: Option<DemandFn>) {
        let demand = demand.map_or(std::ptr::null_mut(), |demand| demand as *mut ());
        self.demand.store(demand, Ordering::Release);
    }

    /// The instance of a cell whose `live` is null, from where the runtime sent it: `None` if
    /// it sent it nowhere (the image makes its own), else the instance or why it could not be
    /// made. Kept in `live` once made.
    pub(crate) fn elsewhere(&self) -> Option<Result<*const (), String>> {
        // Acquire: pairs with the Release of `set_demand` and `forward_to`.
        let demand = self.demand.load(Ordering::Acquire);
        if !demand.is_null() {
            // SAFETY: only `set_demand` stores here, a `DemandFn`; it writes the result to
            // `out` before it returns (it catches every panic).
            let demand = unsafe { std::mem::transmute::<*mut (), DemandFn>(demand) };
            let mut out = std::mem::MaybeUninit::<Result<*const (), String>>::uninit();
            // SAFETY: `demand`'s contract: this cell, and a result of this build's layout.
            return Some(unsafe {
                demand(self, out.as_mut_ptr().cast());
                out.assume_init()
            });
        }
        let forward = self.forward.load(Ordering::Acquire);
        if forward.is_null() {
            return None;
        }
        // SAFETY: only `forward_to` stores here, an `InstanceFn` of an image that is never
        // unloaded, built as this one (the build check).
        let forward = unsafe { std::mem::transmute::<*mut (), InstanceFn>(forward) };
        Some(instance(forward).map(|instance| {
            // Only if the runtime did not point the cell at an instance meanwhile (a conversion
            // that committed), which then stays the live one.
            let _ = self.live.compare_exchange(
                std::ptr::null_mut(),
                instance.cast_mut(),
                Ordering::Release,
                Ordering::Relaxed,
            );
            self.live.load(Ordering::Acquire).cast_const()
        }))
    }

    /// Points the cell at the live instance, and gives it the global's effect id. Done before
    /// any code of the image reaches the global.
    pub(crate) fn attach(&self, live: *const (), effect: u32) {
        self.set_effect(effect);
        self.set_live(live);
    }

    /// Points the cell at a new live instance, of the global's new type. Code that accesses it
    /// with the old type panics at the fingerprint check.
    pub(crate) fn set_live(&self, live: *const ()) {
        // Release: pairs with the Acquire in `Global::live_instance`.
        self.live.store(live.cast_mut(), Ordering::Release);
    }

    /// Gives a global its effect id: the program's own, or a new one a patch adds, whose own
    /// instance, made on first use, is the live one.
    pub(crate) fn set_effect(&self, effect: u32) {
        self.effect.store(effect, Ordering::Relaxed);
    }
}

impl fmt::Debug for GlobalCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Global").field(&self.live.load(Ordering::Relaxed)).finish()
    }
}

/// An updateable type's cell in one image: the type's effect id, which is also its kind id in
/// the census, the same in every image. Given by the registry before any code makes a cell of
/// the type: for the program's types when the registry is made, for a patch's before any of its
/// code runs.
#[repr(C)]
pub(crate) struct KindCell {
    pub(crate) effect: AtomicU32,
}

impl KindCell {
    pub(crate) const fn new() -> KindCell {
        KindCell { effect: AtomicU32::new(0) }
    }

    /// Gives the type its effect id.
    pub(crate) fn set_effect(&self, effect: u32) {
        self.effect.store(effect, Ordering::Relaxed);
    }
}

/// The cell an item descriptor points at.
pub(crate) fn slot_of(desc: &ItemDesc) -> &'static SlotCell {
    // SAFETY: `desc.slot` is the address of the `SlotCell` field of a `static Slot<F>`
    // generated next to the item by `#[updateable]` (`Slot::as_erased`), in an image that is
    // never unloaded. A patch's descriptors are read only after abi_stable checked the
    // manifest's layout and the build fingerprint showed the same compiler, flags and runtime
    // (so the same `SlotCell`).
    unsafe { &*desc.slot.cast::<SlotCell>() }
}

/// The cell a global descriptor points at.
pub(crate) fn global_of(desc: &GlobalDesc) -> &'static GlobalCell {
    // SAFETY: `desc.global` is the address of the `GlobalCell` field of a `static Global<T>`
    // generated by `#[updateable]` (`Global::as_erased`), in an image that is never unloaded;
    // a patch's descriptors are read only after its manifest and build were checked, as for
    // `slot_of`.
    unsafe { &*desc.global.cast::<GlobalCell>() }
}

/// The cell a type descriptor points at.
pub(crate) fn kind_of(desc: &TypeDesc) -> &'static KindCell {
    // SAFETY: `desc.kind` is the address of the `KindCell` field of the `static Kind` that
    // `#[updateable]` writes next to the descriptor (`Kind::as_erased`), in an image that is
    // never unloaded; a patch's descriptors are read only after its manifest and build were
    // checked, as for `slot_of`.
    unsafe { &*desc.kind.cast::<KindCell>() }
}
