//! The shapes of types with no `Fingerprint`: types of other crates, which the orphan rule
//! keeps a user crate from implementing it for, and which need no code from the user.
//!
//! The macros name every type of a signature, a global or a derived field through a
//! [`Probe`]: `Probe::<T, P>::SHAPE` is `T`'s own shape when `T: Fingerprint` (an inherent
//! constant, which Rust prefers), and [`Foreign`]'s otherwise. A foreign shape is worked out at
//! run time, in the image that has the type, by [`foreign`]:
//!
//! - its node is the type's name as `type_name` writes it, with the parameters the macro saw
//!   written out in the source cut out;
//! - its parts are the shapes of those parameters (`P`), probed in their turn, so that a user
//!   type inside a foreign one (`broadcast::Receiver<Message>`) counts with its whole shape;
//! - its name is the type's, for the update to compare the releases the program and the patch
//!   were built with of every crate the name mentions (`lock::check_crossing`): another release
//!   of a dependency may be another type of the same name.
//!
//! A name that still mentions a crate of the image's own code once the parameters are cut out
//! is a type whose shape dsu cannot see: one of the user's types without
//! `#[derive(dsu::Fingerprint)]`, or one hidden inside a foreign type by an alias, and so is a
//! type that downcasts (`dyn Any + Sync`, which `fingerprint.rs` has no impl for). Its shape is
//! refused (`Shape::refused`), and an update that meets it says which type it is.

use std::marker::PhantomData;
use std::sync::OnceLock;

use abi_stable::std_types::RStr;
use dsu_abi::{Shape, ShapeOf};
use sha2_const_stable::Sha256;

use crate::fingerprint::{node_of, shape_of, Fingerprint};
use crate::lock::{crates_named, Record};

/// What the macros read a type's shape through (see the module's documentation). `P` lists the
/// parameters the macro saw written in the type.
#[doc(hidden)]
pub struct Probe<T: ?Sized, P = ()>(PhantomData<Of<T, P>>);

/// What a `Probe` stands for: no value of `T`, so that a probe of an unsized type is sized.
type Of<T, P> = (fn() -> *const T, P);

impl<T: Fingerprint + ?Sized, P> Probe<T, P> {
    /// `T`'s own shape.
    pub const SHAPE: ShapeOf = ShapeOf(shape_of::<T>);
    /// `T`'s node, which evaluates `T::SHAPE`: a type refused by a panic is refused here.
    pub const NODE: u128 = node_of::<T>();
}

/// The shape of a type without `Fingerprint`, when `Probe`'s own constants do not apply.
#[doc(hidden)]
pub trait Foreign {
    /// The shape [`foreign`] works out.
    const SHAPE: ShapeOf;
    /// No node at compile time: the shape's node is worked out at run time.
    const NODE: u128 = 0;
}

impl<T: ?Sized, P: Parameters> Foreign for Probe<T, P> {
    const SHAPE: ShapeOf = ShapeOf(foreign::<T, P>);
}

/// The parameters of a foreign type that the macro saw written: their shapes and their names
/// as `type_name` writes them. The macros write one such type for each foreign type with
/// parameters.
#[doc(hidden)]
pub trait Parameters {
    /// The parameters' shapes, in order.
    const SHAPES: &'static [ShapeOf];
    /// Their names, in order.
    const NAMES: &'static [fn() -> &'static str];
}

impl Parameters for () {
    const SHAPES: &'static [ShapeOf] = &[];
    const NAMES: &'static [fn() -> &'static str] = &[];
}

/// `T`'s name, as `type_name` writes it in this image.
#[doc(hidden)]
pub fn name_of<T: ?Sized>() -> &'static str {
    std::any::type_name::<T>()
}

/// The shape of `T`, a type without `Fingerprint` whose written parameters `P` lists.
#[doc(hidden)]
extern "C" fn foreign<T: ?Sized, P: Parameters>() -> Shape {
    let name = std::any::type_name::<T>();
    // A panic must not unwind out of an `extern "C"` function, which would abort: a shape
    // that could not be made is refused, and the update that meets it says so.
    std::panic::catch_unwind(|| foreign_shape::<P>(name)).unwrap_or(Shape {
        name: RStr::from_str(name),
        refused: true,
        ..crate::fingerprint::shape(0, &[])
    })
}

/// The shape `foreign` gives the type named `name`, whose written parameters `P` lists.
fn foreign_shape<P: Parameters>(name: &'static str) -> Shape {
    let parameters: Vec<&str> = P::NAMES.iter().map(|name| name()).collect();
    let outline = cut_out(name, &parameters);
    let named = Shape { name: RStr::from_str(name), ..crate::fingerprint::shape(0, &[]) };
    let record = own_record();
    // Where the image cannot tell its own code, every crate but std's may be it.
    let std = |krate: &str| matches!(krate, "std" | "core" | "alloc");
    let own =
        |krate: &str| record.is_path_crate(krate) || record.knows_no_own_code() && !std(krate);
    let own_code = crates_named(&outline).into_iter().any(own);
    if own_code || downcasts(&outline) {
        return Shape { refused: true, ..named };
    }
    let node = Sha256::new().update(b"dsu foreign\0").update(outline.as_bytes());
    Shape {
        node: crate::shape::digest(node),
        parts: abi_stable::std_types::RSlice::from_slice(P::SHAPES),
        ..named
    }
}

/// Whether a type of this name is one whose values are told apart by `TypeId` (`dyn Any` and
/// `dyn Error`, which downcast), or holds a thread id: the types `fingerprint.rs` refuses, in
/// a combination it has no impl for (`dyn Any + Sync`). Known by the module and the name, as
/// std's own paths to them (`std::thread::id::ThreadId`) may move.
fn downcasts(outline: &str) -> bool {
    paths(outline).any(|path| {
        let segments: Vec<&str> = path.split("::").collect();
        matches!(
            segments[..],
            ["core", "any", "Any" | "TypeId"]
                | ["core", "error", "Error"]
                | ["std", "thread", .., "Thread" | "ThreadId"]
        )
    })
}

/// The paths in a type's name, each `a::b::C` whole (without its parameters).
fn paths(name: &str) -> impl Iterator<Item = &str> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut rest = name;
    std::iter::from_fn(move || loop {
        let start = rest.find(ident)?;
        let mut end = start;
        loop {
            end += rest[end..].find(|c: char| !ident(c)).unwrap_or(rest.len() - end);
            match rest[end..].strip_prefix("::") {
                Some(after) if after.starts_with(ident) => end += 2,
                _ => break,
            }
        }
        let path = &rest[start..end];
        rest = &rest[end..];
        if path.contains("::") {
            return Some(path);
        }
    })
}

/// The build record of this image, read from its `dsu::patch!()` once (empty without one).
fn own_record() -> &'static Record {
    static RECORD: OnceLock<Record> = OnceLock::new();
    RECORD.get_or_init(|| {
        #[cfg(not(miri))]
        let program = crate::slices::PROGRAMS.first();
        #[cfg(miri)]
        let program: Option<&crate::slices::ProgramInfo> = None;
        program
            .map(|program| Record::or_paths(program.lock, program.path_crates))
            .unwrap_or_default()
    })
}

/// `name` with each of `parameters`, where it stands as a whole path, replaced by `_i`, `i`
/// its place among them (a parameter written twice takes its first place): the outline of a
/// generic type, whose parameters count through their own shapes, and where they stand.
/// Lifetimes are left out of both, as `type_name` writes some (`for<'a> fn(&'a T)` as
/// `fn(&'_ T)`) and not others.
fn cut_out(name: &str, parameters: &[&str]) -> String {
    let name = without_lifetimes(name);
    let mut holes: Vec<(String, usize)> = Vec::new();
    for (place, parameter) in parameters.iter().enumerate() {
        let parameter = without_lifetimes(parameter);
        if !parameter.is_empty() && !holes.iter().any(|(seen, _)| *seen == parameter) {
            holes.push((parameter, place));
        }
    }
    // The longest first, so that `Vec<u8>` goes before `u8` would cut into it.
    holes.sort_by_key(|(parameter, _)| std::cmp::Reverse(parameter.len()));
    let mut out = String::with_capacity(name.len());
    let mut rest = name.as_str();
    'outer: while !rest.is_empty() {
        let at_boundary = !out.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':');
        if at_boundary {
            for (parameter, place) in &holes {
                if let Some(after) = rest.strip_prefix(parameter.as_str()) {
                    let whole = !after.starts_with(|c: char| c.is_alphanumeric() || c == '_')
                        && !after.starts_with("::")
                        && !after.starts_with('<');
                    if whole {
                        out.push_str(&format!("_{place}"));
                        rest = after;
                        continue 'outer;
                    }
                }
            }
        }
        let mut chars = rest.chars();
        out.push(chars.next().expect("not empty"));
        rest = chars.as_str();
    }
    out
}

/// `name` without its lifetimes (`'_ `, `'a, `, `'static `): a quote followed by a name, and
/// not by a second quote (a `char` parameter, `'x'`, stays).
fn without_lifetimes(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(at) = rest.find('\'') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let end = after.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(after.len());
        if end > 0 && !after[end..].starts_with('\'') {
            // A lifetime, and the space or comma after it.
            let tail = &after[end..];
            rest = tail.strip_prefix(", ").or_else(|| tail.strip_prefix(' ')).unwrap_or(tail);
        } else {
            out.push('\'');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::cut_out;
    use crate::lock::crates_named;

    #[test]
    fn the_crates_of_a_name() {
        let name = "tokio::sync::broadcast::Receiver<bytes::bytes::Bytes>";
        assert_eq!(crates_named(name), ["tokio", "bytes"]);
        assert_eq!(crates_named("&[app::Msg; 2]"), ["app"]);
        assert_eq!(crates_named("(u8, alloc::string::String)"), ["alloc"]);
        assert_eq!(crates_named("dyn core::fmt::Debug + core::marker::Send"), ["core"]);
    }

    #[test]
    fn downcasting_types_are_found() {
        use super::downcasts;
        assert!(downcasts("dyn core::any::Any + core::marker::Sync"));
        assert!(downcasts("alloc::boxed::Box<dyn core::error::Error + core::marker::Sync>"));
        assert!(downcasts("(u8, std::thread::thread::Thread)"));
        assert!(downcasts("x::Map<std::thread::id::ThreadId, u8>"));
        assert!(downcasts("[core::any::TypeId; 2]"));
        assert!(!downcasts("std::thread::Builder"));
        assert!(!downcasts("app::core::any::Anything"));
        assert!(!downcasts("app::thread::Thread"));
        assert!(!downcasts("std::io::error::ErrorKind"));
    }

    #[test]
    fn parameters_are_cut_out_whole() {
        let name = "tokio::sync::broadcast::Receiver<app::Msg>";
        assert_eq!(cut_out(name, &["app::Msg"]), "tokio::sync::broadcast::Receiver<_0>");
        // A longer name that starts alike is another type, and stays.
        let name = "x::Pair<app::Msg, app::MsgExtra>";
        assert_eq!(cut_out(name, &["app::Msg"]), "x::Pair<_0, app::MsgExtra>");
        // A path that goes on, or a generic of the same name, is not the parameter.
        assert_eq!(cut_out("x::W<app::Msg::Inner>", &["app::Msg"]), "x::W<app::Msg::Inner>");
        assert_eq!(cut_out("x::W<app::Msg<u8>>", &["app::Msg"]), "x::W<app::Msg<u8>>");
        assert_eq!(
            cut_out("x::W<u8, alloc::vec::Vec<u8>>", &["u8", "alloc::vec::Vec<u8>"]),
            "x::W<_0, _1>"
        );
        // Where each stands counts: two orders of two parameters are two outlines.
        assert_eq!(cut_out("x::Pair<u8, u64>", &["u8", "u64"]), "x::Pair<_0, _1>");
        assert_eq!(cut_out("x::Pair<u64, u8>", &["u8", "u64"]), "x::Pair<_1, _0>");
        assert_eq!(cut_out("x::Pair<u8, u8>", &["u8", "u8"]), "x::Pair<_0, _0>");
        // Lifetimes go, from the name and the parameters alike.
        assert_eq!(cut_out("fn(&'_ app::Msg) -> u8", &["&app::Msg", "u8"]), "fn(_0) -> _1");
        assert_eq!(cut_out("x::Ref<'static, app::Msg>", &["app::Msg"]), "x::Ref<_0>");
        assert_eq!(cut_out("x::C<'x'>", &[]), "x::C<'x'>");
        // Inside another path, a name is not cut.
        assert_eq!(cut_out("x::W<y::u8>", &["u8"]), "x::W<y::u8>");
    }
}
