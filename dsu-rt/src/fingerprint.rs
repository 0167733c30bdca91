//! Structural fingerprints of types.
//!
//! The running program and a patch are separate images: `TypeId` differs between them and
//! `type_name` says nothing about layout. A fingerprint is instead a hash of a type's
//! structure. Every type that crosses an update has a [`Shape`], made at compile time: its own
//! part (for a user type, its name, kind, `repr` and the names of its fields and variants,
//! written by `#[derive(dsu::Fingerprint)]`; for a std type, its name, the rest of its layout
//! being fixed by the compiler that the build fingerprint pins), and the shapes of the types
//! it contains. The fingerprint ([`of`]) is worked out from the graph those shapes make, at
//! run time, once per update: a recursive type is a cycle in that graph, which a constant
//! could not hold.
//!
//! **The rule every fingerprint keeps:** two types whose layout or meaning differ never share
//! one. The parts are hashed with SHA-256 and the fingerprint is 128 bits of a SHA-256 of the
//! graph, so that two types share one only if someone finds a collision of it. What cannot
//! keep the rule has no fingerprint, and using it fails to compile with what to use instead.

use dsu_abi::Hash128;
pub use dsu_abi::{Shape, ShapeOf};
use sha2_const_stable::Sha256;

/// A type whose structure has a fingerprint that both sides of an update can compare.
///
/// Implemented here for the primitive and std types; user types get it from
/// `#[derive(dsu::Fingerprint)]`. Every type in the signature of an updateable item needs it.
///
/// # Safety
///
/// The runtime trusts the fingerprint: two types with equal fingerprints are treated as the
/// same type, across versions (a global's value is read as the type whose fingerprint it
/// carries). The shape must change whenever the type's layout or meaning changes, and no other
/// type of a different layout may have an equal one: derive it, or, for a type of another
/// crate wrapped in a newtype, make its node of the type's path and the crate's version and
/// its parts of the type's parameters (see `docs/limits.md`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no dsu fingerprint",
    label = "used in the signature of an updateable item, or as an updateable global's type",
    note = "add `#[derive(dsu::Fingerprint)]` to the definition of `{Self}`, so that an update \
            can tell whether its shape changed"
)]
pub unsafe trait Fingerprint {
    /// The shape of `Self`: made with [`shape`], its node with [`of_str`] and [`combine`].
    const SHAPE: Shape;
    /// The type's name without its path, which the fingerprint of a state cell of it
    /// (`dsu::State`) carries; empty unless derived.
    #[doc(hidden)]
    const NAME: &'static str = "";
}

/// The fingerprint of `T`: what an update compares for every type of a signature or a global.
/// Worked out from `T`'s shape graph on each call (see `shape.rs`). `None` if `T` contains a
/// type whose shape cannot be seen (one of the program's own types without
/// `#[derive(dsu::Fingerprint)]`, inside a type of another crate).
pub fn of<T: Fingerprint + ?Sized>() -> Option<u128> {
    of_part(ShapeOf(shape_of::<T>))
}

/// The fingerprint of the type `part` gives the shape of: what `dsu::fingerprint_of!` works
/// out, for a type of any crate.
pub fn of_part(part: ShapeOf) -> Option<u128> {
    crate::shape::fingerprint(&(part.0)()).ok().map(Hash128::get)
}

/// A shape: `node`, the type's own part, and `parts`, the shapes of the types it contains
/// (`&[ShapeOf(shape_of::<T>), ..]`).
pub const fn shape(node: u128, parts: &'static [ShapeOf]) -> Shape {
    Shape {
        node: Hash128::new(node),
        parts: abi_stable::std_types::RSlice::from_slice(parts),
        name: abi_stable::std_types::RStr::from_str(""),
        refused: false,
    }
}

/// `T`'s shape, as a function: what the parts of a shape hold, so that a type may contain
/// itself without its constant containing itself.
pub extern "C" fn shape_of<T: Fingerprint + ?Sized>() -> Shape {
    T::SHAPE
}

/// The node of `T`'s shape: what a shape's node includes of its type parameters. Reading it
/// evaluates `T::SHAPE`, so a type without a fingerprint is refused where it is named.
pub const fn node_of<T: Fingerprint + ?Sized>() -> u128 {
    T::SHAPE.node.get()
}

/// The node of `T`'s shape where `T` may have no fingerprint, for a check of the derive that
/// must stay quiet then (the shape's parts report it): `Checked::<T>::NODE` is `T`'s node when
/// `T: Fingerprint`, and [`Unchecked`]'s 0 otherwise.
#[doc(hidden)]
pub struct Checked<T: ?Sized>(std::marker::PhantomData<T>);

impl<T: Fingerprint + ?Sized> Checked<T> {
    /// `T`'s node, which evaluates `T::SHAPE`: a type refused by a panic is refused here.
    pub const NODE: u128 = node_of::<T>();
    /// `T`'s shape.
    pub const SHAPE: Shape = T::SHAPE;
}

/// What `Checked::<T>::NODE` and `Checked::<T>::SHAPE` fall back to when `T` has no
/// fingerprint.
#[doc(hidden)]
pub trait Unchecked {
    /// Nothing: the error is reported elsewhere.
    const NODE: u128 = 0;
    /// A shape no fingerprint is made of: an update refuses it, and the error is reported
    /// elsewhere at compile time.
    const SHAPE: Shape = Shape {
        node: Hash128::NONE,
        parts: abi_stable::std_types::RSlice::from_slice(&[]),
        name: abi_stable::std_types::RStr::from_str(""),
        refused: true,
    };
}

impl<T: ?Sized> Unchecked for Checked<T> {}

/// The fingerprint of a name or a piece of text: the first 128 bits of a SHA-256 of it, so that
/// no two texts anyone can find share one.
pub const fn of_str(text: &str) -> u128 {
    digest(Sha256::new().update(b"dsu text\0").update(text.as_bytes()))
}

/// Combines fingerprints in order: `combine(&[a, b]) != combine(&[b, a])`, and no combination
/// is the fingerprint of a text.
pub const fn combine(parts: &[u128]) -> u128 {
    let mut hash = Sha256::new().update(b"dsu parts\0").update(&(parts.len() as u64).to_le_bytes());
    let mut i = 0;
    while i < parts.len() {
        hash = hash.update(&parts[i].to_le_bytes());
        i += 1;
    }
    digest(hash)
}

/// The first part of every signature's node, worked out once rather than in each (for the
/// code the macros write).
#[doc(hidden)]
pub const FN: u128 = of_str("fn");

/// The second part of an updateable `async fn`'s node: its future is `Send`.
#[doc(hidden)]
pub const ASYNC: u128 = of_str("async fn + Send");

/// The second part of an updateable `async fn`'s node marked `?Send`.
#[doc(hidden)]
pub const ASYNC_LOCAL: u128 = of_str("async fn + ?Send");

/// The first 128 bits of `hash`.
const fn digest(hash: Sha256) -> u128 {
    let full = hash.finalize();
    let mut bytes = [0; 16];
    let mut i = 0;
    while i < 16 {
        bytes[i] = full[i];
        i += 1;
    }
    u128::from_le_bytes(bytes)
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// A patch file's hash, by which the version chain knows a file applied twice (FNV-1a: not a
/// fingerprint, and not kept from collisions: a file that collides is only refused).
pub(crate) fn of_bytes(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET, |state, &byte| (state ^ u64::from(byte)).wrapping_mul(FNV_PRIME))
}

macro_rules! named {
    ($($ty:ty => $name:literal,)*) => {
        $(
            // SAFETY: a std type's layout is fixed by the compiler, which the build fingerprint
            // pins; its name and its parameters' fingerprints tell it from every other type.
            unsafe impl Fingerprint for $ty {
                const SHAPE: Shape = shape(of_str($name), &[]);
            }
        )*
    };
}

named! {
    () => "()", bool => "bool", char => "char", str => "str",
    u8 => "u8", u16 => "u16", u32 => "u32", u64 => "u64", u128 => "u128", usize => "usize",
    i8 => "i8", i16 => "i16", i32 => "i32", i64 => "i64", i128 => "i128", isize => "isize",
    f32 => "f32", f64 => "f64",
    String => "String",
    std::ffi::OsStr => "OsStr", std::ffi::OsString => "OsString",
    std::ffi::CStr => "CStr", std::ffi::CString => "CString",
    std::path::Path => "Path", std::path::PathBuf => "PathBuf",
    std::time::Duration => "Duration", std::time::Instant => "Instant",
    std::time::SystemTime => "SystemTime",
    std::fmt::Error => "fmt::Error", std::fmt::Formatter<'_> => "fmt::Formatter",
    std::fmt::Arguments<'_> => "fmt::Arguments",
    std::io::Error => "io::Error", std::io::ErrorKind => "io::ErrorKind",
    std::net::TcpStream => "TcpStream", std::net::TcpListener => "TcpListener",
    std::net::UdpSocket => "UdpSocket", std::net::SocketAddr => "SocketAddr",
    std::net::IpAddr => "IpAddr", std::net::Ipv4Addr => "Ipv4Addr",
    std::net::Ipv6Addr => "Ipv6Addr", std::net::Shutdown => "Shutdown",
    std::os::unix::net::UnixStream => "UnixStream",
    std::os::unix::net::UnixListener => "UnixListener",
    std::process::ExitCode => "ExitCode",
    std::cmp::Ordering => "cmp::Ordering",
    std::sync::atomic::AtomicBool => "AtomicBool",
    std::sync::atomic::AtomicU32 => "AtomicU32", std::sync::atomic::AtomicU64 => "AtomicU64",
    std::sync::atomic::AtomicUsize => "AtomicUsize", std::sync::atomic::AtomicI64 => "AtomicI64",
    std::num::NonZeroU32 => "NonZeroU32", std::num::NonZeroU64 => "NonZeroU64",
    std::num::NonZeroUsize => "NonZeroUsize",
    std::hash::RandomState => "RandomState",
    std::hash::DefaultHasher => "DefaultHasher",
    std::sync::atomic::AtomicU8 => "AtomicU8", std::sync::atomic::AtomicU16 => "AtomicU16",
    std::sync::atomic::AtomicI8 => "AtomicI8", std::sync::atomic::AtomicI16 => "AtomicI16",
    std::sync::atomic::AtomicI32 => "AtomicI32", std::sync::atomic::AtomicIsize => "AtomicIsize",
    std::num::NonZeroU8 => "NonZeroU8", std::num::NonZeroU16 => "NonZeroU16",
    std::num::NonZeroU128 => "NonZeroU128", std::num::NonZeroI8 => "NonZeroI8",
    std::num::NonZeroI16 => "NonZeroI16", std::num::NonZeroI32 => "NonZeroI32",
    std::num::NonZeroI64 => "NonZeroI64", std::num::NonZeroI128 => "NonZeroI128",
    std::num::NonZeroIsize => "NonZeroIsize",
    std::num::ParseIntError => "ParseIntError", std::num::ParseFloatError => "ParseFloatError",
    std::str::Utf8Error => "Utf8Error", std::string::FromUtf8Error => "FromUtf8Error",
    std::net::SocketAddrV4 => "SocketAddrV4", std::net::SocketAddrV6 => "SocketAddrV6",
    std::net::AddrParseError => "AddrParseError",
    std::fs::File => "File", std::fs::Metadata => "fs::Metadata",
    std::fs::Permissions => "fs::Permissions",
    std::process::Child => "process::Child", std::process::Command => "process::Command",
    std::process::ExitStatus => "ExitStatus", std::process::Output => "process::Output",
    std::process::Stdio => "Stdio",
    std::io::Stdin => "io::Stdin", std::io::Stdout => "io::Stdout",
    std::io::Stderr => "io::Stderr", std::io::Empty => "io::Empty", std::io::Sink => "io::Sink",
    std::sync::Condvar => "Condvar", std::sync::Barrier => "Barrier", std::sync::Once => "Once",
    std::ops::RangeFull => "RangeFull",
    dyn std::fmt::Display => "dyn Display", dyn std::fmt::Debug => "dyn Debug",
    dyn std::io::Read => "dyn Read", dyn std::io::Write => "dyn Write",
    dyn std::io::Read + Send => "dyn Read + Send", dyn std::io::Write + Send => "dyn Write + Send",
}

macro_rules! generic {
    ($($name:literal => [$($param:ident),+] $ty:ty,)*) => {
        /// The names of the std generics whose node is made of their parameters' nodes.
        const GENERIC_NAMES: &[&str] = &[$($name),*];
        $(
            // SAFETY: a std type's layout is fixed by the compiler, which the build fingerprint
            // pins; its name and its parameters' fingerprints tell it from every other type.
            unsafe impl<$($param: Fingerprint + ?Sized),+> Fingerprint for $ty {
                const SHAPE: Shape = shape(
                    combine(&[of_str($name), $(node_of::<$param>()),+]),
                    &[$(ShapeOf(shape_of::<$param>)),+],
                );
            }
        )*
    };
}

generic! {
    "&" => [T] &T,
    "&mut" => [T] &mut T,
    "*const" => [T] *const T,
    "*mut" => [T] *mut T,
    "Box" => [T] Box<T>,
    "Rc" => [T] std::rc::Rc<T>,
    "Arc" => [T] std::sync::Arc<T>,
    "Weak" => [T] std::sync::Weak<T>,
    "Cell" => [T] std::cell::Cell<T>,
    "RefCell" => [T] std::cell::RefCell<T>,
    "Mutex" => [T] std::sync::Mutex<T>,
    "RwLock" => [T] std::sync::RwLock<T>,
    "MutexGuard" => [T] std::sync::MutexGuard<'_, T>,
    "PhantomData" => [T] std::marker::PhantomData<T>,
    "NonNull" => [T] std::ptr::NonNull<T>,
    "ManuallyDrop" => [T] std::mem::ManuallyDrop<T>,
    "io::BufReader" => [T] std::io::BufReader<T>,
    "rc::Weak" => [T] std::rc::Weak<T>,
    "UnsafeCell" => [T] std::cell::UnsafeCell<T>,
    "Ref" => [T] std::cell::Ref<'_, T>,
    "RefMut" => [T] std::cell::RefMut<'_, T>,
    "RwLockReadGuard" => [T] std::sync::RwLockReadGuard<'_, T>,
    "RwLockWriteGuard" => [T] std::sync::RwLockWriteGuard<'_, T>,
}

macro_rules! generic_sized {
    ($($name:literal => [$($param:ident),+] $ty:ty,)*) => {
        /// The names of the std generics whose node is made of their parameters' nodes.
        const GENERIC_SIZED_NAMES: &[&str] = &[$($name),*];
        $(
            // SAFETY: a std type's layout is fixed by the compiler, which the build fingerprint
            // pins; its name and its parameters' fingerprints tell it from every other type.
            unsafe impl<$($param: Fingerprint),+> Fingerprint for $ty {
                const SHAPE: Shape = shape(
                    combine(&[of_str($name), $(node_of::<$param>()),+]),
                    &[$(ShapeOf(shape_of::<$param>)),+],
                );
            }
        )*
    };
}

generic_sized! {
    "Vec" => [T] Vec<T>,
    "VecDeque" => [T] std::collections::VecDeque<T>,
    "LinkedList" => [T] std::collections::LinkedList<T>,
    "BinaryHeap" => [T] std::collections::BinaryHeap<T>,
    "BTreeSet" => [T] std::collections::BTreeSet<T>,
    "BTreeMap" => [K, V] std::collections::BTreeMap<K, V>,
    "Option" => [T] Option<T>,
    "Result" => [T, E] Result<T, E>,
    "Range" => [T] std::ops::Range<T>,
    "RangeInclusive" => [T] std::ops::RangeInclusive<T>,
    "Reverse" => [T] std::cmp::Reverse<T>,
    "Wrapping" => [T] std::num::Wrapping<T>,
    "mpsc::Sender" => [T] std::sync::mpsc::Sender<T>,
    "mpsc::SyncSender" => [T] std::sync::mpsc::SyncSender<T>,
    "mpsc::Receiver" => [T] std::sync::mpsc::Receiver<T>,
    "JoinHandle" => [T] std::thread::JoinHandle<T>,
    // A map's hasher is among its parameters: it is stored in the map, and the map's layout
    // and hashing change with it.
    "HashMap" => [K, V, S] std::collections::HashMap<K, V, S>,
    "HashSet" => [T, S] std::collections::HashSet<T, S>,
    "BuildHasherDefault" => [H] std::hash::BuildHasherDefault<H>,
    "OnceLock" => [T] std::sync::OnceLock<T>,
    "OnceCell" => [T] std::cell::OnceCell<T>,
    "io::Cursor" => [T] std::io::Cursor<T>,
    "io::Take" => [T] std::io::Take<T>,
    "AtomicPtr" => [T] std::sync::atomic::AtomicPtr<T>,
    "vec::IntoIter" => [T] std::vec::IntoIter<T>,
    "RangeFrom" => [T] std::ops::RangeFrom<T>,
    "RangeTo" => [T] std::ops::RangeTo<T>,
    "RangeToInclusive" => [T] std::ops::RangeToInclusive<T>,
    "Bound" => [T] std::ops::Bound<T>,
    "LazyLock" => [T, F] std::sync::LazyLock<T, F>,
    "slice::Iter" => [T] std::slice::Iter<'_, T>,
    "slice::IterMut" => [T] std::slice::IterMut<'_, T>,
}

/// Fingerprints for dsu's own public types, which an operator's code passes around (an admin
/// endpoint's functions take them): written next to each type, by name.
macro_rules! dsu_types {
    ($($ty:ident,)*) => {
        $(
            // SAFETY: a type of dsu's own: the build fingerprint pins dsu's version, so every
            // image of the program has the same definition; the name tells it from others.
            unsafe impl $crate::fingerprint::Fingerprint for $ty {
                const SHAPE: $crate::fingerprint::Shape = $crate::fingerprint::shape(
                    $crate::fingerprint::of_str(concat!("dsu::", stringify!($ty))),
                    &[],
                );
            }
        )*
    };
}
pub(crate) use dsu_types;

/// Types that can keep no fingerprint's promise: using one in a signature or a global's type
/// fails to compile, with the reason and what to use instead (a panic in the evaluation of
/// its fingerprint, which is a constant).
macro_rules! refused {
    ($($ty:ty => $why:expr,)*) => {
        $(
            // SAFETY: no fingerprint is ever given: evaluating it fails the build.
            unsafe impl Fingerprint for $ty {
                const SHAPE: Shape = panic!("{}", $why);
            }
        )*
    };
}

const DOWNCAST: &str = "`dyn Any` has no dsu fingerprint: `downcast` trusts a `TypeId`, which \
    a type keeps across two builds of one crate version even when its fields change, so code of \
    one version could read a value of another as its own; use a concrete type, or an enum of \
    the types the value may be";

const DOWNCAST_ERROR: &str = "`dyn Error` has no dsu fingerprint: `downcast` trusts a \
    `TypeId`, which a type keeps across two builds of one crate version even when its fields \
    change, so code of one version could read an error of another as its own; use an error \
    type of your own (an enum deriving `dsu::Fingerprint`), or `String`";

refused! {
    dyn std::any::Any => DOWNCAST,
    dyn std::any::Any + Send => DOWNCAST,
    dyn std::any::Any + Send + Sync => DOWNCAST,
    dyn std::error::Error => DOWNCAST_ERROR,
    dyn std::error::Error + Send => DOWNCAST_ERROR,
    dyn std::error::Error + Send + Sync => DOWNCAST_ERROR,
    std::any::TypeId => "`TypeId` has no dsu fingerprint: a type keeps its `TypeId` across two \
        builds of one crate version even when its fields change, so an id cannot say which \
        version's type it names; name the types with an enum of your own",
    std::thread::ThreadId => "`ThreadId` has no dsu fingerprint: each copy of the standard \
        library counts thread ids of its own, so a patch's new threads take ids the program's \
        threads have; number threads with a counter in an updateable global",
    std::thread::Thread => "`Thread` has no dsu fingerprint: it carries a `ThreadId`, which each \
        copy of the standard library counts on its own; keep a number of your own for the thread",
}

// SAFETY: as for the types above: a std type, by its name and parameters; the owned type is
// one of them, as `ToOwned` may give any type (and its variant holds one).
unsafe impl<T: Fingerprint + ?Sized + ToOwned> Fingerprint for std::borrow::Cow<'_, T>
where
    T::Owned: Fingerprint,
{
    const SHAPE: Shape = shape(
        combine(&[of_str("Cow"), node_of::<T>(), node_of::<T::Owned>()]),
        &[ShapeOf(shape_of::<T>), ShapeOf(shape_of::<T::Owned>)],
    );
}

// SAFETY: as for the types above: a std type, by its name and parameters.
unsafe impl<T: Fingerprint> Fingerprint for [T] {
    const SHAPE: Shape = shape(combine(&[of_str("[]"), node_of::<T>()]), &[ShapeOf(shape_of::<T>)]);
}

// SAFETY: as for the types above: a std type, by its name and parameters.
unsafe impl<T: Fingerprint> Fingerprint for std::pin::Pin<T> {
    const SHAPE: Shape =
        shape(combine(&[of_str("Pin"), node_of::<T>()]), &[ShapeOf(shape_of::<T>)]);
}

// SAFETY: as for the types above: a std type, by its name and parameters.
unsafe impl<T: Fingerprint + std::io::Write> Fingerprint for std::io::BufWriter<T> {
    const SHAPE: Shape =
        shape(combine(&[of_str("io::BufWriter"), node_of::<T>()]), &[ShapeOf(shape_of::<T>)]);
}

// SAFETY: as for the types above: a std type, by its name and parameters.
unsafe impl<T: Fingerprint, const N: usize> Fingerprint for [T; N] {
    const SHAPE: Shape =
        shape(combine(&[of_str("[;]"), node_of::<T>(), N as u128]), &[ShapeOf(shape_of::<T>)]);
}

/// Whether `old` and `new`, nodes of two versions of a type with parts of the nodes
/// `old_parts` and `new_parts`, are one node made of its parts' nodes (a reference, a std
/// generic, a tuple, a slice, a signature): then they differ only because their parts do.
pub(crate) fn composite_alike(
    old: Hash128,
    old_parts: &[Hash128],
    new: Hash128,
    new_parts: &[Hash128],
) -> bool {
    let made_of = |name: &str, node: Hash128, parts: &[Hash128]| {
        let mut all = vec![of_str(name)];
        all.extend(parts.iter().map(|part| part.get()));
        node.get() == combine(&all)
    };
    let names = GENERIC_NAMES.iter().chain(GENERIC_SIZED_NAMES);
    let names = names.chain(&["tuple", "[]", "Pin", "io::BufWriter", "fn"]);
    names.into_iter().any(|name| made_of(name, old, old_parts) && made_of(name, new, new_parts))
}

macro_rules! tuples {
    ($(($($param:ident),+),)*) => {
        $(
            // SAFETY: a std type's layout is fixed by the compiler, which the build fingerprint
            // pins; its name and its parameters' fingerprints tell it from every other type.
            unsafe impl<$($param: Fingerprint),+> Fingerprint for ($($param,)+) {
                const SHAPE: Shape = shape(
                    combine(&[of_str("tuple"), $(node_of::<$param>()),+]),
                    &[$(ShapeOf(shape_of::<$param>)),+],
                );
            }
        )*
    };
}

tuples! {
    (A), (A, B), (A, B, C), (A, B, C, D), (A, B, C, D, E), (A, B, C, D, E, F),
    (A, B, C, D, E, F, G), (A, B, C, D, E, F, G, H),
}

macro_rules! fn_pointers {
    ($(($($param:ident),*),)*) => {
        $(
            // SAFETY: a std type's layout is fixed by the compiler, which the build fingerprint
            // pins; its name and its parameters' fingerprints tell it from every other type.
            unsafe impl<R: Fingerprint, $($param: Fingerprint),*> Fingerprint for fn($($param),*) -> R {
                const SHAPE: Shape = shape(
                    combine(&[of_str("fn"), node_of::<R>(), $(node_of::<$param>()),*]),
                    &[ShapeOf(shape_of::<R>), $(ShapeOf(shape_of::<$param>)),*],
                );
            }
        )*
    };
}

fn_pointers! {
    (), (A), (A, B), (A, B, C), (A, B, C, D),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_of_parts_matters() {
        assert_ne!(combine(&[1, 2]), combine(&[2, 1]));
        assert_ne!(combine(&[1]), combine(&[1, 0]));
    }

    #[test]
    fn parameters_change_the_fingerprint() {
        assert_ne!(of::<Vec<u32>>(), of::<Vec<u64>>());
        assert_ne!(of::<&str>(), of::<&String>());
        assert_ne!(of::<[u8; 4]>(), of::<[u8; 5]>());
        assert_ne!(of::<Result<u8, ()>>(), of::<Result<(), u8>>());
    }

    #[test]
    fn a_wrapper_changes_the_fingerprint() {
        // One parameter under each wrapper, or under none: all different types, so a name
        // copied from one impl to another, or a wrapper that drops its name, shows here.
        let wrapped = [
            ("String", of::<String>()),
            ("Option<String>", of::<Option<String>>()),
            ("Option<Option<String>>", of::<Option<Option<String>>>()),
            ("Vec<String>", of::<Vec<String>>()),
            ("VecDeque<String>", of::<std::collections::VecDeque<String>>()),
            ("Box<String>", of::<Box<String>>()),
            ("&String", of::<&String>()),
            ("Arc<String>", of::<std::sync::Arc<String>>()),
            ("Mutex<String>", of::<std::sync::Mutex<String>>()),
            ("(String,)", of::<(String,)>()),
            ("[String; 1]", of::<[String; 1]>()),
        ];
        for (i, (a, fa)) in wrapped.iter().enumerate() {
            for (b, fb) in &wrapped[i + 1..] {
                assert_ne!(fa, fb, "`{a}` and `{b}` have the same fingerprint");
            }
        }
    }

    #[test]
    fn the_std_wrappers_are_told_apart() {
        use std::cell::{OnceCell, UnsafeCell};
        use std::ops::{Bound, RangeFrom, RangeTo, RangeToInclusive};
        let wrapped = [
            ("io::Cursor<Vec<u8>>", of::<std::io::Cursor<Vec<u8>>>()),
            ("io::Take<Vec<u8>>", of::<std::io::Take<Vec<u8>>>()),
            ("io::BufReader<Vec<u8>>", of::<std::io::BufReader<Vec<u8>>>()),
            ("vec::IntoIter<Vec<u8>>", of::<std::vec::IntoIter<Vec<u8>>>()),
            ("Vec<Vec<u8>>", of::<Vec<Vec<u8>>>()),
            ("rc::Weak<Vec<u8>>", of::<std::rc::Weak<Vec<u8>>>()),
            ("sync::Weak<Vec<u8>>", of::<std::sync::Weak<Vec<u8>>>()),
            ("UnsafeCell<Vec<u8>>", of::<UnsafeCell<Vec<u8>>>()),
            ("OnceCell<Vec<u8>>", of::<OnceCell<Vec<u8>>>()),
            ("OnceLock<Vec<u8>>", of::<std::sync::OnceLock<Vec<u8>>>()),
            ("RangeFrom<Vec<u8>>", of::<RangeFrom<Vec<u8>>>()),
            ("RangeTo<Vec<u8>>", of::<RangeTo<Vec<u8>>>()),
            ("RangeToInclusive<Vec<u8>>", of::<RangeToInclusive<Vec<u8>>>()),
            ("Bound<Vec<u8>>", of::<Bound<Vec<u8>>>()),
            ("Range<Vec<u8>>", of::<std::ops::Range<Vec<u8>>>()),
        ];
        for (i, (a, fa)) in wrapped.iter().enumerate() {
            for (b, fb) in &wrapped[i + 1..] {
                assert_ne!(fa, fb, "`{a}` and `{b}` have the same fingerprint");
            }
        }
        assert_ne!(of::<std::sync::atomic::AtomicI32>(), of::<i32>());
        assert_ne!(of::<std::num::NonZeroI64>(), of::<std::num::NonZeroU64>());
    }

    #[test]
    fn a_map_counts_its_hasher() {
        use std::collections::{HashMap, HashSet};
        use std::hash::{BuildHasherDefault, DefaultHasher, RandomState};
        type Zero = BuildHasherDefault<DefaultHasher>;
        assert_ne!(of::<HashMap<u32, u32, RandomState>>(), of::<HashMap<u32, u32, Zero>>());
        assert_ne!(of::<HashSet<u32, RandomState>>(), of::<HashSet<u32, Zero>>());
        assert_eq!(of::<HashMap<u32, u32>>(), of::<HashMap<u32, u32, RandomState>>());
    }

    #[test]
    fn lifetimes_do_not_change_the_fingerprint() {
        fn of_value<T: Fingerprint + ?Sized>(_: &T) -> Option<u128> {
            of::<T>()
        }
        let owned = String::from("x");
        let local: &str = &owned;
        assert_eq!(of_value(&local), of::<&'static str>());
    }
}
