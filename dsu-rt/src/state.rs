//! State cells: updateable state held anywhere, in an `Arc`, in a struct on a loop's frame, in
//! a map of connections, with every live cell known to the runtime (`census.rs`), so that an
//! update that changes the type converts each one.
//!
//! A `State<T>` is a handle of a node the program's census owns, which points at the cell's
//! instance. Its layout is the same for every `T`, and so is its fingerprint but for `T`'s
//! name: a struct that holds a cell keeps its shape when `T` changes, and so do the signatures
//! that name it. What the instance holds is checked at each access, as a global's is.

use std::fmt;
use std::marker::PhantomData;
use std::mem::size_of;
use std::panic::Location;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;

use dsu_abi::{op, Hash128, Shape};

use crate::cell::KindCell;
use crate::census::{self, NodeRef};
use crate::context::{self, Op};
use crate::fingerprint::{combine, of_str, shape, Fingerprint};
use crate::instance::{self, Instance};
use crate::transform::Transform;

/// A type whose values state cells hold: `#[dsu::updateable]` on a struct or an enum
/// implements it, and registers the type with the runtime.
///
/// # Safety
///
/// `kind` must return the one `Kind` of `Self` in its image, registered in the image's list of
/// types with `Self`'s path and shape: only `#[dsu::updateable]` writes it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an updateable type, so no `dsu::State` holds it",
    label = "not `#[dsu::updateable]`",
    note = "mark the definition of `{Self}` `#[dsu::updateable]`: the runtime then knows every \
            cell of it, and an update that changes it converts them all"
)]
pub unsafe trait Updateable: Fingerprint + 'static {
    /// The type's kind in this image.
    #[doc(hidden)]
    fn kind() -> &'static Kind;
}

/// An updateable type as one image has it: its path, its shape, and the id the runtime knows
/// it by (its effect id, the same in every image). What `TypeDesc::kind` points at.
#[doc(hidden)]
pub struct Kind {
    path: &'static str,
    shape: Shape,
    /// What the runtime stores into: the type's effect id.
    cell: KindCell,
    /// The type's fingerprint, worked out on first use.
    fingerprint: OnceLock<Hash128>,
}

impl Kind {
    /// The kind of `T`, declared at `path`.
    pub const fn new<T: Fingerprint>(path: &'static str) -> Kind {
        Kind { path, shape: T::SHAPE, cell: KindCell::new(), fingerprint: OnceLock::new() }
    }

    /// The shape of the type, for its descriptor.
    pub const fn shape(&self) -> Shape {
        self.shape
    }

    /// The address of the kind's cell, which the runtime stores through (`cell::kind_of`).
    pub const fn as_erased(&'static self) -> *const () {
        (&self.cell as *const KindCell).cast()
    }

    /// The fingerprint of the type.
    #[inline]
    fn fingerprint(&self) -> Hash128 {
        *self.fingerprint.get_or_init(|| {
            crate::shape::fingerprint_or_unique(&self.shape, self as *const Self as usize)
        })
    }

    /// Whether `fingerprint`, an instance's, is the type's.
    #[inline]
    fn is_own_type(&self, fingerprint: Hash128) -> bool {
        self.fingerprint() == fingerprint
    }
}

/// A state cell: a value of an updateable type, held anywhere, which every update that
/// changes the type converts, wherever the cell is.
///
/// Reach the value with [`with`](State::with), or [`with_mut`](State::with_mut) through a
/// handle you own. Each access is a transaction that counts the type among its effects: an
/// update that converts the type waits until no access is under way, holds back the ones
/// about to start, converts every live cell of the type, and lets them go on with the new
/// value. Making and dropping a cell are such transactions too.
///
/// ```
/// #[dsu::updateable]
/// #[derive(Default)]
/// pub struct Connection {
///     pub commands: u64,
/// }
///
/// let mut connection = dsu::State::new(Connection::default());
/// connection.with_mut(|connection| connection.commands += 1);
/// assert_eq!(connection.with(|connection| connection.commands), 1);
/// ```
///
/// The cell's layout and fingerprint do not depend on the value's type, but for its name: a
/// struct that holds a `State<Connection>` keeps its shape when `Connection` changes.
pub struct State<T> {
    node: NodeRef,
    /// The generation of the node this handle owns it in (`census::Node`).
    generation: u64,
    _type: PhantomData<T>,
}

// The layout is the same for every `T`: what lets a struct that holds a cell keep its shape.
const _: () = assert!(size_of::<State<u8>>() == size_of::<State<[u64; 64]>>());
const _: () = assert!(size_of::<State<u8>>() == 2 * size_of::<usize>());

/// The node of a `State`'s shape: the same for every value type of the same name.
const STATE: u128 = of_str("dsu::State");

// SAFETY: every `State<T>` has the layout of a node address and a `u64` (asserted above);
// what the node's instance holds is checked against `T` at every access. The node carries `T`'s
// name, so cells of types of other names differ.
unsafe impl<T: Fingerprint> Fingerprint for State<T> {
    const SHAPE: Shape = shape(combine(&[STATE, of_str(T::NAME)]), &[]);
}

impl<T: Updateable + Send + Sync> State<T> {
    /// A new cell holding `value`, registered with the runtime.
    ///
    /// Made inside a transaction that counts the type among its effects: while an update
    /// converts the type, it waits, and is made after the commit, converted to the type the
    /// update switched to if `value` is of an older version's type (code that was running when
    /// the update came).
    ///
    /// # Panics
    ///
    /// If `value` is of a version of the type that no update converts to the running one, or
    /// the conversion at birth panicked.
    #[track_caller]
    pub fn new(value: T) -> State<T> {
        let kind = T::kind();
        let transaction = crate::transaction::enter(Location::caller());
        transaction.note(&kind.cell.effect);
        let instance = Instance::boxed(kind.fingerprint(), value);
        // Relaxed: given before any code makes a cell of the type.
        let id = kind.cell.effect.load(Ordering::Relaxed);
        match birth(id, instance) {
            Ok((node, generation)) => State { node, generation, _type: PhantomData },
            Err(message) => panic!("a state cell of `{}` could not be made: {message}", kind.path),
        }
    }

    /// Runs `access` with the cell's value, inside a transaction (nested in the caller's, if
    /// any) that counts the type among its effects.
    ///
    /// # Panics
    ///
    /// If the value is of another version's type (the code calling `with` was left running by
    /// an update that converted the type), or this handle was moved into a value an update
    /// made and owns the cell no more.
    #[track_caller]
    #[inline]
    pub fn with<R>(&self, access: impl FnOnce(&T) -> R) -> R {
        let transaction = crate::transaction::enter(Location::caller());
        transaction.note_id(self.node.node().kind);
        let instance = self.instance();
        // SAFETY: `instance` is `T`'s (checked), live while the transaction that has its type
        // among its effects is open, and only shared references to it are handed out through
        // `&self`.
        access(unsafe { Instance::<T>::value(instance) })
    }

    /// Runs `access` with the cell's value to change, inside a transaction, as
    /// [`with`](State::with).
    #[track_caller]
    #[inline]
    pub fn with_mut<R>(&mut self, access: impl FnOnce(&mut T) -> R) -> R {
        let transaction = crate::transaction::enter(Location::caller());
        transaction.note_id(self.node.node().kind);
        let instance = self.instance();
        // SAFETY: as in `with`; and this handle owns the cell (checked by `instance`), one
        // handle owns a cell at a time (`census::moved`), and it is borrowed mutably here, so
        // no other reference to the value lives.
        access(unsafe { Instance::<T>::value_mut(instance) })
    }

    /// The live instance, once it is checked that this handle owns the cell and the instance
    /// is of `T`.
    #[inline]
    fn instance(&self) -> *const () {
        let node = self.node.node();
        // Acquire: pairs with the Release of the commit that switched the instance in.
        if node.generation.load(Ordering::Acquire) != self.generation {
            moved_away(T::kind().path);
        }
        let instance = node.live.load(Ordering::Acquire).cast_const();
        // SAFETY: the node's instance is live while the cell is: this handle owns it.
        let fingerprint = unsafe { instance::fingerprint_of(instance) };
        if !T::kind().is_own_type(fingerprint) {
            stale(T::kind().path);
        }
        instance
    }
}

impl<T> Drop for State<T> {
    fn drop(&mut self) {
        let transaction = crate::transaction::enter(Location::caller());
        transaction.note_id(self.node.node().kind);
        let instance = death(self.node, self.generation);
        if !instance.is_null() {
            // SAFETY: the cell died: its instance is this handle's alone now.
            unsafe { instance::dispose(instance) };
        }
    }
}

/// The cell moves into the value a transformer makes: the same cell, which the update converts
/// too if its type changed. Only an update's transformer can do this, once per cell and update:
/// anywhere else, or for a cell moved already, it panics, failing the update.
impl<T, O> Transform<State<O>> for State<T> {
    fn transform(old: &State<O>) -> Self {
        match moved(old.node, old.generation) {
            Ok(generation) => State { node: old.node, generation, _type: PhantomData },
            Err(message) => panic!("{message}"),
        }
    }
}

impl<T: Default + Updateable + Send + Sync> Default for State<T> {
    #[track_caller]
    fn default() -> Self {
        State::new(T::default())
    }
}

impl<T: fmt::Debug + Updateable + Send + Sync> fmt::Debug for State<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with(|value| f.debug_tuple("State").field(value).finish())
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn stale(path: &str) -> ! {
    panic!(
        "a state cell of `{path}` holds a value of another version's type: this code was left \
         running by an update that converted the type"
    )
}

#[cold]
#[inline(never)]
#[track_caller]
fn moved_away(path: &str) -> ! {
    panic!(
        "this handle of a state cell of `{path}` was moved into a value an update made, and no \
         longer owns the cell"
    )
}

/// Registers a cell with the program's census: in a patch, through the program.
fn birth(kind: u32, instance: *const ()) -> Result<(NodeRef, u64), String> {
    match context::host() {
        Some(context) => context::call::<Birth>(context, &(kind, instance as usize))
            .unwrap_or_else(|| Err("the program's runtime panicked".to_owned())),
        // SAFETY: `instance` was just made, and nothing else owns it.
        None => unsafe { census::birth(kind, instance) },
    }
}

/// The program's context, if this image is a patch and the node is the program's (a patch's
/// code made before it was attached is in its own census).
fn host_of(node: NodeRef) -> Option<&'static dsu_abi::HostContext> {
    context::host().filter(|_| !node.is_home())
}

/// Drops a handle in the census that made its node: the program's, through the host context
/// from a patch.
fn death(node: NodeRef, generation: u64) -> *const () {
    match host_of(node) {
        Some(context) => context::call::<Death>(context, &(node, generation))
            .map_or(std::ptr::null(), |instance| instance as *const ()),
        None => census::death(node, generation),
    }
}

/// Moves a cell into a transformer's value, in the census that made its node.
fn moved(node: NodeRef, generation: u64) -> Result<u64, &'static str> {
    match host_of(node) {
        Some(context) => context::call::<Move>(context, &(node, generation))
            .unwrap_or(Err("the program's runtime panicked")),
        None => census::moved(node, generation),
    }
}

/// `census::birth` for a patch's cell: the kind and the instance's address.
pub(crate) struct Birth;

// SAFETY: `BIRTH` is this operation's alone, and `host.rs` serves it with `serve::<Birth>`.
unsafe impl Op for Birth {
    const ID: u32 = op::BIRTH;
    type Input = (u32, usize);
    type Output = Result<(NodeRef, u64), String>;
}

/// `census::death` for a patch's handle: the instance's address, or 0.
pub(crate) struct Death;

// SAFETY: `DEATH` is this operation's alone, and `host.rs` serves it with `serve::<Death>`.
unsafe impl Op for Death {
    const ID: u32 = op::DEATH;
    type Input = (NodeRef, u64);
    type Output = usize;
}

/// `census::moved` for a patch's transformer.
pub(crate) struct Move;

// SAFETY: `MOVE` is this operation's alone, and `host.rs` serves it with `serve::<Move>`.
unsafe impl Op for Move {
    const ID: u32 = op::MOVE;
    type Input = (NodeRef, u64);
    type Output = Result<u64, &'static str>;
}

/// Conversions of cells as an update runs them, on types made here: the census's steps,
/// without a patch (these run under miri).
#[cfg(test)]
mod tests {
    use std::mem::ManuallyDrop;
    use std::sync::atomic::{AtomicU32, AtomicUsize};

    use super::*;
    use crate::census::{KindConversion, Retired};

    /// A type of the running version, and its next version, which counts drops.
    struct Old(u64);
    struct New(u64, &'static str);

    static NEW_DROPPED: AtomicUsize = AtomicUsize::new(0);
    static OLD_DROPPED: AtomicUsize = AtomicUsize::new(0);

    impl Drop for Old {
        fn drop(&mut self) {
            OLD_DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }

    impl Drop for New {
        fn drop(&mut self) {
            NEW_DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }

    // SAFETY: distinct nodes for distinct types; named as `State` needs.
    unsafe impl Fingerprint for Old {
        const SHAPE: Shape = shape(of_str("tests::Old"), &[]);
        const NAME: &'static str = "Thing";
    }
    // SAFETY: as for `Old`.
    unsafe impl Fingerprint for New {
        const SHAPE: Shape = shape(of_str("tests::New"), &[]);
        const NAME: &'static str = "Thing";
    }

    /// The id the tests' kind has: far from the registry's.
    const KIND: u32 = 90_001;
    static OLD_KIND: Kind = kind::<Old>();
    static NEW_KIND: Kind = kind::<New>();

    const fn kind<T: Fingerprint>() -> Kind {
        Kind {
            path: "tests::Thing",
            shape: T::SHAPE,
            cell: KindCell { effect: AtomicU32::new(KIND) },
            fingerprint: OnceLock::new(),
        }
    }

    // SAFETY: the one kind of each type here.
    unsafe impl Updateable for Old {
        fn kind() -> &'static Kind {
            &OLD_KIND
        }
    }
    // SAFETY: as for `Old`.
    unsafe impl Updateable for New {
        fn kind() -> &'static Kind {
            &NEW_KIND
        }
    }

    impl Transform<Old> for New {
        fn transform(old: &Old) -> Self {
            assert_ne!(old.0, 13, "thirteen is refused");
            crate::global::counted();
            New(old.0 * 10, "converted")
        }
    }

    impl Transform<New> for Old {
        fn transform(new: &New) -> Self {
            Old(new.0 / 10)
        }
    }

    unsafe extern "C" fn forward(old: *const (), out: *mut ()) {
        // SAFETY: the census's contract for a transformer.
        unsafe { crate::global::transformed::<New, Old>(&New::SHAPE, old, out) }
    }

    unsafe extern "C" fn back(new: *const (), out: *mut ()) {
        // SAFETY: as for `forward`.
        unsafe { crate::global::transformed::<Old, New>(&Old::SHAPE, new, out) }
    }

    fn fingerprint<T: Updateable>() -> Hash128 {
        T::kind().fingerprint()
    }

    fn conversion() -> KindConversion {
        KindConversion {
            kind: KIND,
            from: fingerprint::<Old>(),
            to: fingerprint::<New>(),
            transform: Some(forward),
            reverse: Some(back),
        }
    }

    /// The same cell, seen by code of the next version: what a `State<Old>` is to it.
    fn seen_as_new(cell: &State<Old>) -> ManuallyDrop<State<New>> {
        ManuallyDrop::new(State {
            node: cell.node,
            generation: cell.generation,
            _type: PhantomData,
        })
    }

    /// Runs one conversion as an update does, with the gate's work left out: list, convert,
    /// commit, free what was replaced.
    fn update(conversion: KindConversion) -> Result<(), crate::census::Failed> {
        let _updater = crate::gate::Updater::mark().expect("not an updater yet");
        let mut retired = Retired::default();
        let (converting, made) = census::begin(vec![conversion]).run(&mut retired)?;
        converting.commit(&made, &mut retired);
        retired.free();
        Ok(())
    }

    #[test]
    fn every_cell_converts_in_one_commit_or_none_does() {
        let _turn = crate::gate::tests::exclusive();
        census::declare(KIND, fingerprint::<Old>());
        let mut cells: Vec<State<Old>> = (0..20).map(|n| State::new(Old(100 + n))).collect();
        cells[15].with_mut(|old| old.0 = 13);

        let failed = update(conversion()).expect_err("a cell is refused");
        assert_eq!(failed.cells, 20, "the census's order is its own: cell {}", failed.cell);
        assert!(failed.message.contains("thirteen is refused"), "{}", failed.message);
        let values: Vec<u64> = cells.iter().map(|cell| cell.with(|old| old.0)).collect();
        assert_eq!(values[..3], [100, 101, 102], "every cell as it was");
        assert_eq!(values[15], 13);

        cells[15].with_mut(|old| old.0 = 115);
        let dropped = OLD_DROPPED.load(Ordering::Relaxed);
        update(conversion()).expect("converts");
        assert!(OLD_DROPPED.load(Ordering::Relaxed) >= dropped + 20, "the old values dropped");
        let caught = std::panic::catch_unwind(|| cells[0].with(|old| old.0));
        assert!(caught.is_err(), "code of the old type cannot read the new value");
        let news: Vec<u64> = cells.iter().map(|cell| seen_as_new(cell).with(|new| new.0)).collect();
        assert_eq!(news[..3], [1000, 1010, 1020]);
        assert_eq!(seen_as_new(&cells[1]).with(|new| new.1), "converted");

        // Code of the old version that still runs makes cells of the old type: born converted.
        let late = State::new(Old(7));
        assert_eq!(seen_as_new(&late).with(|new| (new.0, new.1)), (70, "converted"));
        let status = census::counts();
        assert_eq!(status.get(&(KIND, fingerprint::<New>())), Some(&21));
        assert_eq!(status.get(&(KIND, fingerprint::<Old>())), None);

        // And back, as a rollback converts them.
        let back = KindConversion {
            kind: KIND,
            from: fingerprint::<New>(),
            to: fingerprint::<Old>(),
            transform: Some(back),
            reverse: None,
        };
        update(back).expect("converts back");
        assert_eq!(late.with(|old| old.0), 7);
        assert_eq!(cells[2].with(|old| old.0), 102);
        let new_dropped = NEW_DROPPED.load(Ordering::Relaxed);
        drop(cells);
        drop(late);
        assert_eq!(NEW_DROPPED.load(Ordering::Relaxed), new_dropped, "no new value was left");
        assert_eq!(census::counts().get(&(KIND, fingerprint::<Old>())), None, "all dead");
    }

    /// What holds a cell, in the running version and the next.
    struct Holder(State<Old>);
    struct NewHolder(State<New>);

    #[test]
    fn a_cell_moves_into_the_value_a_transformer_makes_once() {
        let _turn = crate::gate::tests::exclusive();
        census::declare(KIND, fingerprint::<Old>());
        let holder = Holder(State::new(Old(4)));
        let caught = std::panic::catch_unwind(|| State::<New>::transform(&holder.0));
        assert!(caught.is_err(), "outside a conversion, a cell does not move");

        let _updater = crate::gate::Updater::mark().expect("not an updater yet");
        let mut retired = Retired::default();
        let converting = census::begin(Vec::new());
        let moved = NewHolder(State::transform(&holder.0));
        let twice = std::panic::catch_unwind(|| State::<New>::transform(&holder.0));
        assert!(twice.is_err(), "one conversion moves a cell once");
        let (converting, made) = converting.run(&mut retired).expect("nothing to convert");
        converting.commit(&made, &mut retired);
        retired.free();
        // The new value's handle owns the cell, of the running type still: the cell's type did
        // not change.
        let moved_node = moved.0.node;
        let seen = ManuallyDrop::new(State::<Old> {
            node: moved_node,
            generation: moved.0.generation,
            _type: PhantomData,
        });
        assert_eq!(seen.with(|old| old.0), 4);
        let caught = std::panic::catch_unwind(|| holder.0.with(|old| old.0));
        assert!(caught.is_err(), "the old value's handle owns nothing");
        let dropped = OLD_DROPPED.load(Ordering::Relaxed);
        drop(holder);
        assert_eq!(OLD_DROPPED.load(Ordering::Relaxed), dropped, "the old handle drops nothing");
        assert_eq!(census::counts().get(&(KIND, fingerprint::<Old>())), Some(&1));
        std::mem::forget(moved); // its type says `New`: the cell is dropped as `Old` below
        drop(ManuallyDrop::into_inner(seen));
        assert_eq!(OLD_DROPPED.load(Ordering::Relaxed), dropped + 1);
    }

    #[test]
    fn a_cell_dropped_while_its_type_converts_is_left_out() {
        let _turn = crate::gate::tests::exclusive();
        census::declare(KIND, fingerprint::<Old>());
        let kept = State::new(Old(1));
        let dropped = State::new(Old(2));
        let _updater = crate::gate::Updater::mark().expect("not an updater yet");
        let mut retired = Retired::default();
        let converting = census::begin(vec![conversion()]);
        // A transformer's thread is the updater's, which the gate never holds.
        drop(dropped);
        let (converting, made) = converting.run(&mut retired).expect("converts");
        converting.commit(&made, &mut retired);
        retired.free();
        assert_eq!(seen_as_new(&kept).with(|new| new.0), 10);
        assert_eq!(census::counts().get(&(KIND, fingerprint::<New>())), Some(&1));
    }

    #[test]
    fn a_moved_handle_dropped_before_the_commit_leaves_the_cell_to_die() {
        let _turn = crate::gate::tests::exclusive();
        census::declare(KIND, fingerprint::<Old>());
        let holder = Holder(State::new(Old(8)));
        let _updater = crate::gate::Updater::mark().expect("not an updater yet");
        let mut retired = Retired::default();
        let converting = census::begin(Vec::new());
        drop(NewHolder(State::transform(&holder.0)));
        let (converting, made) = converting.run(&mut retired).expect("nothing to convert");
        converting.commit(&made, &mut retired);
        retired.free();
        assert_eq!(census::counts().get(&(KIND, fingerprint::<Old>())), None, "no owner: dead");
        let caught = std::panic::catch_unwind(|| holder.0.with(|old| old.0));
        assert!(caught.is_err(), "the old handle owns nothing");
        drop(holder);
    }

    #[test]
    fn a_handle_a_failed_conversion_made_never_owns_the_cell() {
        let _turn = crate::gate::tests::exclusive();
        census::declare(KIND, fingerprint::<Old>());
        let holder = Holder(State::new(Old(9)));
        let _updater = crate::gate::Updater::mark().expect("not an updater yet");
        let mut retired = Retired::default();
        let converting = census::begin(Vec::new());
        let kept = ManuallyDrop::new(State::<Old>::transform(&holder.0));
        converting.abandon(Vec::new(), &mut retired);
        retired.free();
        assert_eq!(holder.0.with(|old| old.0), 9, "the owner is the one it was");
        let mut retired = Retired::default();
        let converting = census::begin(Vec::new());
        let moved = State::<Old>::transform(&holder.0);
        let (converting, made) = converting.run(&mut retired).expect("nothing to convert");
        converting.commit(&made, &mut retired);
        retired.free();
        assert_eq!(moved.with(|old| old.0), 9, "the second move owns it");
        let caught = std::panic::catch_unwind(|| kept.with(|old| old.0));
        assert!(caught.is_err(), "the first one never does");
        drop(holder);
        drop(moved);
        drop(ManuallyDrop::into_inner(kept));
        assert_eq!(census::counts().get(&(KIND, fingerprint::<Old>())), None);
    }

    #[test]
    fn a_cell_a_transformer_makes_of_the_replaced_type_converts_too() {
        let _turn = crate::gate::tests::exclusive();
        census::declare(KIND, fingerprint::<Old>());
        let _updater = crate::gate::Updater::mark().expect("not an updater yet");
        let mut retired = Retired::default();
        let converting = census::begin(vec![conversion()]);
        // What an initialiser of the running version, run for a transformer, would make.
        let late = State::new(Old(3));
        let (converting, made) = converting.run(&mut retired).expect("converts");
        assert_eq!(made[0].cells(), 1, "the late cell");
        converting.commit(&made, &mut retired);
        retired.free();
        assert_eq!(seen_as_new(&late).with(|new| new.0), 30);
        drop(ManuallyDrop::into_inner(seen_as_new(&late)));
        std::mem::forget(late);
    }

    /// A type of the running version that holds a cell, and its next version.
    struct OuterOld(State<Old>);
    struct OuterNew(State<Old>, u32);
    const OUTER: u32 = 90_002;
    static OUTER_OLD: Kind = outer::<OuterOld>();
    static OUTER_NEW: Kind = outer::<OuterNew>();

    const fn outer<T: Fingerprint>() -> Kind {
        Kind {
            path: "tests::Outer",
            shape: T::SHAPE,
            cell: KindCell { effect: AtomicU32::new(OUTER) },
            fingerprint: OnceLock::new(),
        }
    }

    // SAFETY: distinct nodes for distinct types.
    unsafe impl Fingerprint for OuterOld {
        const SHAPE: Shape = shape(of_str("tests::OuterOld"), &[]);
    }
    // SAFETY: as for `OuterOld`.
    unsafe impl Fingerprint for OuterNew {
        const SHAPE: Shape = shape(of_str("tests::OuterNew"), &[]);
    }
    // SAFETY: the one kind of each type here.
    unsafe impl Updateable for OuterOld {
        fn kind() -> &'static Kind {
            &OUTER_OLD
        }
    }
    // SAFETY: as for `OuterOld`.
    unsafe impl Updateable for OuterNew {
        fn kind() -> &'static Kind {
            &OUTER_NEW
        }
    }

    impl Transform<OuterOld> for OuterNew {
        fn transform(old: &OuterOld) -> Self {
            OuterNew(State::transform(&old.0), 2)
        }
    }

    unsafe extern "C" fn outer_forward(old: *const (), out: *mut ()) {
        // SAFETY: the census's contract for a transformer.
        unsafe { crate::global::transformed::<OuterNew, OuterOld>(&OuterNew::SHAPE, old, out) }
    }

    #[test]
    fn a_cell_born_of_an_old_type_that_holds_a_cell_moves_it_at_once() {
        let _turn = crate::gate::tests::exclusive();
        census::declare(KIND, fingerprint::<Old>());
        census::declare(OUTER, OuterOld::kind().fingerprint());
        let outer = KindConversion {
            kind: OUTER,
            from: OuterOld::kind().fingerprint(),
            to: OuterNew::kind().fingerprint(),
            transform: Some(outer_forward),
            reverse: None,
        };
        update(outer).expect("no cells yet");
        // Code of the running version makes one after the update: born converted, its inner
        // cell moved into the new value.
        let born = State::new(OuterOld(State::new(Old(6))));
        let seen = ManuallyDrop::new(State::<OuterNew> {
            node: born.node,
            generation: born.generation,
            _type: PhantomData,
        });
        assert_eq!(seen.with(|new| (new.0.with(|old| old.0), new.1)), (6, 2));
        assert_eq!(census::counts().get(&(KIND, fingerprint::<Old>())), Some(&1), "one inner");
        std::mem::forget(born);
        drop(ManuallyDrop::into_inner(seen));
        assert_eq!(census::counts().get(&(KIND, fingerprint::<Old>())), None, "dropped with it");
    }

    #[test]
    fn a_cells_layout_and_fingerprint_are_its_types_name_only() {
        assert_eq!(size_of::<State<Old>>(), size_of::<State<New>>());
        assert_eq!(
            crate::fingerprint::of::<State<Old>>(),
            crate::fingerprint::of::<State<New>>(),
            "the same name: the same fingerprint"
        );
    }
}
