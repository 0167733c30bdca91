//! The types that cross between a running program and a patch.
//!
//! A patch is a cdylib built from a new version of the program's own crate. It links its
//! own copy of `std`, of `dsu-rt` and of every dependency, so nothing but these `#[repr(C)]`
//! types may be exchanged before the runtime has checked that both sides were built alike.
//! The patch exports a [`PatchManifestRef`] as an `abi_stable` root module: when a patch built
//! against an incompatible `dsu-abi` is loaded, `abi_stable`'s layout check refuses it before
//! the program calls any of its functions (the dynamic loader has run its initialisers).
//!
//! Everything here is plain data and function pointers, built in `const` where it can be.

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    package_version_strings,
    sabi_types::VersionStrings,
    std_types::{RSlice, RStr},
    StableAbi,
};

/// A 128-bit fingerprint (`dsu::Fingerprint`, a signature's, a body's), as two halves:
/// abi_stable has no `u128`, whose alignment is not the same for every compiler either.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct Hash128 {
    /// The low 64 bits.
    pub low: u64,
    /// The high 64 bits.
    pub high: u64,
}

// The instance header (`dsu-rt`'s `instance.rs`) is read as a `Hash128` at offset 0 of an
// instance of any type: 16 bytes, aligned as a `u64`, wherever it is built.
const _: () =
    assert!(core::mem::size_of::<Hash128>() == 16 && core::mem::align_of::<Hash128>() == 8);

impl Hash128 {
    /// No fingerprint: what a descriptor holds where it has none to give.
    pub const NONE: Hash128 = Hash128 { low: 0, high: 0 };

    /// `value`, in halves.
    pub const fn new(value: u128) -> Hash128 {
        Hash128 { low: value as u64, high: (value >> 64) as u64 }
    }

    /// The value.
    pub const fn get(self) -> u128 {
        (self.high as u128) << 64 | self.low as u128
    }
}

/// What a type's fingerprint is worked out from (`dsu::Fingerprint`): the type's own part,
/// and the shapes of the types it is made of, reached through functions so that a type may
/// contain itself.
///
/// The shapes reachable from one form a graph with a cycle for each recursive type. The
/// runtime's fingerprint of a shape is a hash of that graph up to bisimulation (`dsu-rt`'s
/// `shape.rs`): two images agree on it exactly when the types unfold alike, however each image
/// happens to duplicate the functions.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug)]
pub struct Shape {
    /// The type's own part: its kind and name, a user type's field names and `repr`, and the
    /// nodes of its type parameters.
    pub node: Hash128,
    /// The shapes of the types it contains, in order: a struct's field types, a `Vec`'s
    /// element type.
    pub parts: RSlice<'static, ShapeOf>,
    /// For a type of another crate (a shape made at run time), its name as the image's
    /// compiler writes it: the update compares the releases of the crates it names. Empty
    /// otherwise.
    pub name: RStr<'static>,
    /// The image cannot see the type's shape (one of the program's own types without
    /// `Fingerprint`, `name`): no fingerprint is made of a shape that reaches it.
    pub refused: bool,
}

/// The shape of one type, as the image that has the type knows it.
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, Debug)]
pub struct ShapeOf(pub extern "C" fn() -> Shape);

/// One updateable item (a function or a method) as an image registers it.
///
/// The item's identity is its `path` plus its `signature` fingerprint: a changed signature
/// makes a new item, and code compiled against the old one keeps calling the old one.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug)]
pub struct ItemDesc {
    /// Where the item lives in its crate, e.g. `kvstore::handlers::get` or
    /// `kvstore::Store::insert` or `<kvstore::Counter as core::fmt::Display>::fmt`.
    pub path: RStr<'static>,
    /// The signature as written, with `Self` written as the implementing type: for messages,
    /// and, compared without lifetimes and the paths before names, as a second check beside
    /// `signature`.
    pub signature_text: RStr<'static>,
    /// The shape of the signature, whose parts are the parameter and return types: the item's
    /// fingerprint is the runtime's fingerprint of it.
    pub signature: Shape,
    /// Fingerprint of the item's tokens: a changed body gives a changed fingerprint.
    pub body: Hash128,
    /// This image's implementation of the item, as an untyped code pointer. It is only ever
    /// called through the typed stub generated for the same `path` and `signature`.
    pub implementation: *const (),
    /// This image's cell for the item: the `SlotCell` inside the item's `Slot` in `dsu-rt`,
    /// which holds the code the image's stub calls. Only the runtime of the same build (checked
    /// by the build fingerprint) reads it; here it is an address.
    pub slot: *const (),
    /// Code of the slot's type that panics, saying that the item's signature changed: what
    /// the slot holds while the running implementation has another signature (a method of a
    /// type an update converted, reached by code compiled against the old type).
    pub stale: *const (),
    /// For an `async fn`, this image's count of the futures of its implementation still
    /// running (`dsu-rt`'s `InFlight`), which `status()` reads; null for a plain function.
    pub futures: *const (),
}

// SAFETY: the pointers are code addresses and addresses of `static` atomics (the slot's cell,
// the count of futures); none is ever written through except by atomic operations, so sharing
// the descriptor is sound.
unsafe impl Sync for ItemDesc {}
// SAFETY: as for `Sync`: the descriptor holds only addresses of immutable code and of atomics.
unsafe impl Send for ItemDesc {}

/// One updateable global (`#[dsu::updateable] static`) as an image registers it.
///
/// Its identity is its `path`; its `fingerprint` is the structural fingerprint of its type.
/// Every image has its own `static`, whose cell the runtime points at the one live instance.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug)]
pub struct GlobalDesc {
    /// Where the global lives in its crate, e.g. `kvstore::STORE`.
    pub path: RStr<'static>,
    /// Its type as written, for messages.
    pub type_text: RStr<'static>,
    /// The shape of its type.
    pub shape: Shape,
    /// This image's cell for the global: the `GlobalCell` inside the global's `Global` in
    /// `dsu-rt`, which points at the live instance. An address here, as `ItemDesc::slot`.
    pub global: *const (),
    /// Returns the instance this image's code reaches: its own, made by the global's
    /// initialiser on first use, unless the runtime pointed the image at another's. Writes a
    /// `Result<*const (), String>` (the instance, or the initialiser's panic) to `out`.
    pub instance: unsafe extern "C" fn(out: *mut ()),
    /// The shape of the global's type in the version this one updates, when the type changed
    /// (`#[dsu::updateable(was = OldType)]`).
    pub was: abi_stable::std_types::ROption<Shape>,
    /// That type as written.
    pub was_text: RStr<'static>,
    /// Makes this version's instance from the running instance of the `was` type. Writes a
    /// `Result<(*const (), u64), String>` (the new instance and how many values of the
    /// program's types the transformers made, or the transformer's panic) to `out`.
    pub transform: Option<unsafe extern "C" fn(old: *const (), out: *mut ())>,
    /// Makes an instance of the `was` type back from this version's instance, for a rollback
    /// (`reversible`); as `transform` otherwise.
    pub reverse: Option<unsafe extern "C" fn(new: *const (), out: *mut ())>,
}

// SAFETY: the pointer is the address of a `static` whose fields are atomics or written once
// under a `Once`; the function pointer is code.
unsafe impl Sync for GlobalDesc {}
// SAFETY: as for `Sync`.
unsafe impl Send for GlobalDesc {}

/// One updateable type (`#[dsu::updateable] struct` or `enum`) as an image registers it: the
/// type of the values state cells (`dsu::State`) hold.
///
/// Its identity is its `path`; its `shape` gives the structural fingerprint of the type. The
/// values live in cells anywhere in the program; the runtime keeps the list of them, and an
/// update that changes the type converts every one.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug)]
pub struct TypeDesc {
    /// Where the type is declared, e.g. `kvstore::Connection`.
    pub path: RStr<'static>,
    /// The shape of the type.
    pub shape: Shape,
    /// This image's cell of the type: `dsu-rt`'s `Kind`, which holds the type's effect id. An
    /// address here, as `ItemDesc::slot`.
    pub kind: *const (),
    /// The shape of the type in the version this one updates, when the type changed
    /// (`#[dsu::updateable(was = OldType)]`).
    pub was: abi_stable::std_types::ROption<Shape>,
    /// That type as written.
    pub was_text: RStr<'static>,
    /// Makes a value of this version's type from a value of the `was` type, as
    /// `GlobalDesc::transform` does.
    pub transform: Option<unsafe extern "C" fn(old: *const (), out: *mut ())>,
    /// Makes a value of the `was` type back, for a rollback (`reversible`).
    pub reverse: Option<unsafe extern "C" fn(new: *const (), out: *mut ())>,
}

// SAFETY: the pointer is the address of a `static` of atomics; the function pointers are code.
unsafe impl Sync for TypeDesc {}
// SAFETY: as for `Sync`.
unsafe impl Send for TypeDesc {}

/// What a patch answers when it is attached.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttachReply {
    /// The patch's runtime now acts through the program's. False if attaching panicked.
    pub attached: bool,
    /// The patch's global allocator is `dsu::SharedAllocator`, which now forwards every
    /// allocation to the running program's allocator.
    pub forwards_allocations: bool,
}

/// The running program's allocator, as functions a patch's `SharedAllocator` forwards to.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug)]
pub struct AllocTable {
    /// `std::alloc::alloc` of the running program.
    pub alloc: unsafe extern "C" fn(size: usize, align: usize) -> *mut u8,
    /// `std::alloc::alloc_zeroed` of the running program.
    pub alloc_zeroed: unsafe extern "C" fn(size: usize, align: usize) -> *mut u8,
    /// `std::alloc::dealloc` of the running program.
    pub dealloc: unsafe extern "C" fn(ptr: *mut u8, size: usize, align: usize),
    /// `std::alloc::realloc` of the running program.
    pub realloc:
        unsafe extern "C" fn(ptr: *mut u8, size: usize, align: usize, new_size: usize) -> *mut u8,
}

/// What the running program hands a patch when it attaches it: the way back to the one
/// runtime of the process.
///
/// The `call` entry point exchanges `dsu-rt` values by pointer. That is sound only because the
/// build recorded in the patch's manifest section (compiler, flags, `dsu` version and the
/// runtime's layouts) has been checked equal to the program's before `attach` is called.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug)]
pub struct HostContext {
    /// The program's allocator.
    pub alloc: AllocTable,
    /// Runs a runtime operation of the program on behalf of patch code: `op` names the
    /// operation, `input` and `output` point to the `dsu-rt` values it reads and writes.
    pub call: unsafe extern "C" fn(op: u32, input: *const (), output: *mut ()),
    /// Where the program's per-thread transaction state is, as an offset from the thread
    /// pointer that holds on every thread; 0 if there is none such, and the patch asks with
    /// [`op::LOCAL`].
    pub thread_state_offset: isize,
}

/// The root module a patch exports.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PatchManifestRef)))]
#[sabi(missing_field(panic))]
pub struct PatchManifest {
    /// The image's manifest section (`.dsu.manifest`, written by `dsu::patch!()`) as the
    /// image's code sees it: the updater read the one in the file before loading it, and
    /// refuses an image whose code sees another.
    pub manifest_section: RSlice<'static, u8>,
    /// Every updateable item of the patch image: its own registry, not the program's.
    pub items: RSlice<'static, ItemDesc>,
    /// Every updateable global of the patch image.
    pub globals: RSlice<'static, GlobalDesc>,
    /// Every updateable type of the patch image.
    pub types: RSlice<'static, TypeDesc>,
    /// Connects the patch's copy of the runtime to the program's. Called once, after every
    /// check on the manifest passed and before any other code of the patch runs.
    #[sabi(last_prefix_field)]
    pub attach: extern "C" fn(&HostContext) -> AttachReply,
}

impl RootModule for PatchManifestRef {
    declare_root_module_statics! {PatchManifestRef}
    const BASE_NAME: &'static str = "dsu_patch";
    const NAME: &'static str = "dsu_patch";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// The ids of the operations a patch can ask of the program through [`HostContext::call`].
///
/// The types each one reads and writes are `dsu-rt`'s, declared by the `Op` implementation of
/// the same id in `dsu-rt` (its `context.rs` has the contract); here they are only named.
pub mod op {
    /// `dsu::update_with(path, options)`.
    pub const UPDATE: u32 = 1;
    /// `dsu::rollback_with(options)`.
    pub const ROLLBACK: u32 = 2;
    /// `dsu::status()`.
    pub const STATUS: u32 = 3;
    /// The calling thread's transaction state in the program.
    pub const LOCAL: u32 = 4;
    /// A transaction record of the program's, for a new transaction.
    pub const TAKE_RECORD: u32 = 5;
    /// Gives a record back.
    pub const FREE_RECORD: u32 = 6;
    /// `dsu::inspect_with(path, options)`.
    pub const INSPECT: u32 = 7;
    /// `dsu::check_with(path, options)`.
    pub const CHECK: u32 = 8;
    /// Registers a new state cell with the program.
    pub const BIRTH: u32 = 9;
    /// Drops a handle of a state cell.
    pub const DEATH: u32 = 10;
    /// Moves a state cell into the value a transformer makes.
    pub const MOVE: u32 = 11;
}
