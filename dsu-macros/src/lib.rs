//! The attributes of dsu. Users name them through the `dsu` crate; see its documentation
//! for the whole picture.
#![forbid(unsafe_code)]

mod args;
mod base;
mod derived_transform;
mod errors;
mod expand;
mod fingerprint_derive;
mod global;
mod graph;
mod hash;
mod krate;
mod lock_record;
mod model;
mod package;
mod probe;
mod signature;
mod sources;
mod state_type;
mod transaction;
mod transform;
mod valid;

use proc_macro::TokenStream;

use crate::args::Attribute;

/// Makes a function, or every method of an impl block, replaceable by a later version of
/// the program while it runs.
///
/// ```
/// #[dsu::updateable]
/// pub fn greet(name: &str) -> String {
///     format!("hello, {name}")
/// }
///
/// assert_eq!(greet("you"), "hello, you");
/// // The program's registry knows it, by path and signature: an update can replace it.
/// let status = dsu::status();
/// let greet = status.items.iter().find(|item| item.item.path.ends_with("::greet")).unwrap();
/// assert_eq!(greet.item.signature, "fn(&str) -> String");
/// assert_eq!(greet.version, 0); // the code the program started with
/// ```
///
/// becomes, in outline:
///
/// ```text
/// pub fn greet(__dsu_arg0: &str) -> String {
///     fn __dsu_impl(name: &str) -> String {
///         format!("hello, {name}")
///     }
///     fn __dsu_bridge(name: &str) -> Returned<String> {
///         catch(move || __dsu_impl(name))
///     }
///     static __DSU_SLOT: Slot<fn(&str) -> Returned<String>> = Slot::new(__dsu_bridge);
///     #[distributed_slice(ITEMS)]
///     static __DSU_ITEM: ItemDesc = ItemDesc {
///         path: "my_crate::greet",
///         signature: /* the shape of fn(&str) -> String */,
///         body: /* fingerprint of the item's tokens */,
///         implementation: __dsu_bridge,
///         slot: __DSU_SLOT.as_erased(), // the slot's cell, which an update stores into
///         ..
///     };
///     __DSU_SLOT.note(); // in the thread's transaction, if it runs in one
///     match __DSU_SLOT.foreign() {
///         None => __dsu_impl(__dsu_arg0), // this version's code: a direct call
///         Some(bridge) => __DSU_SLOT.finish(bridge(__dsu_arg0)), // another version's
///     }
/// }
/// ```
///
/// On `impl Type { .. }` or `impl Trait for Type { .. }` every method becomes updateable;
/// each method's body moves to a hidden method (of `Type` for an inherent impl, of a hidden
/// trait implemented for `Type` for a trait impl), and the method itself becomes the stub.
/// A method marked `#[dsu::updateable(skip)]` stays as written: to make one method of a
/// trait impl updateable, mark the others. (An attribute on a method alone cannot work: the
/// generated code must name the implementing type, which only the impl block shows.)
///
/// Every item also gets a *bridge*, through which another version's code calls this one: it
/// runs the body under this image's `catch_unwind`, so that a panic reaches the caller as in
/// a program that was never updated (each image has its own std, which would otherwise
/// abort on the other's panic).
///
/// Every type in the signature needs [`Fingerprint`](derive@Fingerprint). Generic, `const`,
/// `async`, `extern` and variadic functions cannot be updateable and are refused.
///
/// `#[updateable(crate = path)]` names the `dsu` crate when it is not a direct dependency
/// called `dsu`.
#[proc_macro_attribute]
pub fn updateable(args: TokenStream, input: TokenStream) -> TokenStream {
    let (args, original): (proc_macro2::TokenStream, _) = (args.into(), input.clone().into());
    args::parse(Attribute::Updateable, args.clone())
        .and_then(|args| {
            let item = model::parse(input.into())?;
            valid::check(&args, &item)?;
            Ok(expand::item(&args, &item))
        })
        .unwrap_or_else(|error| {
            let krate = args::best_effort(Attribute::Updateable, args);
            expand::fallback(&krate, original, error)
        })
        .into()
}

/// Makes a function a transaction: each call appears to run entirely in one version of the
/// program, even if an update commits meanwhile.
///
/// ```
/// #[dsu::updateable]
/// fn price(item: u32) -> u32 {
///     item * 10
/// }
///
/// #[dsu::updateable]
/// fn discount(item: u32) -> u32 {
///     item
/// }
///
/// #[dsu::transaction]
/// fn quote(item: u32) -> u32 {
///     // Both calls run the same version's code, even if an update that changes both
///     // commits between them.
///     price(item) - discount(item)
/// }
///
/// assert_eq!(quote(3), 27);
/// ```
///
/// becomes
///
/// ```text
/// fn quote(item: u32) -> u32 {
///     let __dsu_transaction = { use ::dsu as __dsu_alias; __dsu_alias::__private::enter(Location::caller()) };
///     { /* body */ }
/// }
/// ```
///
/// An update commits while the transaction is open only if the transaction has called none
/// of the items the update changes; otherwise the update waits for it. A transaction that
/// calls another nests in it. Works on generic functions and on methods alone; together with
/// `#[dsu::updateable]` the call of the function itself is part of the transaction.
///
/// For a block of code, `dsu::transaction(|| ..)`; for a transaction that moves between
/// functions or threads, `dsu::Transaction`. `#[transaction(crate = path)]` names the `dsu`
/// crate when it is not a direct dependency called `dsu`.
#[proc_macro_attribute]
pub fn transaction(args: TokenStream, input: TokenStream) -> TokenStream {
    let original: proc_macro2::TokenStream = input.clone().into();
    transaction::expand(args.into(), input.into())
        .unwrap_or_else(|error| expand::beside(original, error))
        .into()
}

/// Makes a function from `&OldType` to `NewType` the transformer that converts values of a
/// type that changed, when an update changes the type of a global that holds them.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
///
/// use dsu::Transform;
///
/// mod v1 {
///     #[derive(dsu::Fingerprint)]
///     pub struct Entry { pub value: String }
/// }
///
/// #[derive(dsu::Fingerprint)]
/// pub struct Entry { pub value: String, pub hits: u64 }
///
/// #[dsu::transform]
/// fn entry(old: &v1::Entry) -> Entry {
///     Entry { value: old.value.clone(), hits: 0 }
/// }
///
/// // An update from the version whose `STORE` held `v1::Entry` values converts them.
/// #[dsu::updateable(was = Mutex<HashMap<String, v1::Entry>>)]
/// static STORE: Mutex<HashMap<String, Entry>> = Mutex::new(HashMap::new());
///
/// let old = Mutex::new(HashMap::from([("a".to_owned(), v1::Entry { value: "x".to_owned() })]));
/// let new = <Mutex<HashMap<String, Entry>>>::transform(&old);
/// let new = new.lock().unwrap();
/// assert_eq!((new["a"].value.as_str(), new["a"].hits), ("x", 0));
/// assert!(STORE.with(|store| store.lock().unwrap().is_empty()));
/// ```
///
/// It writes `impl dsu::Transform<OldType> for NewType` calling the function; the runtime's
/// impls for containers convert a map or a vector of entries with it. The old value is only
/// read: a transformer that panics leaves it whole, and the update is refused.
/// `#[transform(crate = path)]` names the `dsu` crate when it is not a direct dependency called
/// `dsu`.
///
/// ```text
/// fn entry(old: &v1::Entry) -> Entry { /* body */ }
/// const _: () = {
///     use ::dsu as __dsu_alias;
///     impl __dsu_alias::Transform<v1::Entry> for Entry {
///         fn transform(old: &v1::Entry) -> Self { entry(old) }
///     }
/// };
/// ```
#[proc_macro_attribute]
pub fn transform(args: TokenStream, input: TokenStream) -> TokenStream {
    let original: proc_macro2::TokenStream = input.clone().into();
    transform::expand(args.into(), input.into())
        .unwrap_or_else(|error| expand::beside(original, error))
        .into()
}

/// Writes a module of the running release's types, read from its sources, for a release that
/// converts a global to name the old types with: `dsu::base!(v1 = "../../app-1.1.0")`, at the
/// crate's root, names the running release's package directory relative to the file it is
/// written in, as `include_str!` does, and writes `mod v1 { .. }`.
///
/// The module has every struct, enum, union, type alias and constant `const` of the running
/// release's library, in its modules, all `pub`, with the `use` items its types need, and a
/// `Fingerprint` derive where the running release had one: so each copy has the running type's
/// fingerprint. For each type written alike in both releases that a global's conversion needs,
/// it derives the conversion `was` would (`Transform<v1::Kind> for Kind`), so that only the
/// types that changed need a `was` or a `#[dsu::transform]`. A global whose type changed without a
/// `was`, or whose conversion needs a changed type nothing converts, is an error that shows the
/// old and the new definition. `crate = path` names the `dsu` crate when it is not a direct
/// dependency called `dsu`.
///
/// ```text
/// dsu::base!(v1 = "../../app-1.1.0");
///
/// #[dsu::updateable(was = v1::Entry)]     // derived: a field added
/// pub struct Entry { pub value: String, pub kind: Kind, pub hits: u64 }
///
/// #[dsu::updateable(was = Mutex<HashMap<String, v1::Entry>>)]
/// static STORE: Mutex<HashMap<String, Entry>> = Mutex::new(HashMap::new());
/// ```
#[proc_macro]
pub fn base(input: TokenStream) -> TokenStream {
    let file = proc_macro::Span::call_site().local_file();
    base::expand(input.into(), file).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Gives a type the shape an update compares: its name, kind and `repr`, the names of its
/// fields and variants, and their types' shapes. A type may contain itself, directly or
/// through other types (`enum Frame { Array(Vec<Frame>), .. }`).
///
/// Needed by every user type in the signature of an updateable item. `#[dsu(crate = path)]`
/// names the `dsu` crate when it is not a direct dependency called `dsu`.
///
/// ```
/// use dsu::Fingerprint;
///
/// #[derive(dsu::Fingerprint)]
/// pub struct Point { pub x: i32, pub y: i32 }
///
/// mod v2 {
///     // The same fields, wider: not the same type to an update.
///     #[derive(dsu::Fingerprint)]
///     pub struct Point { pub x: i64, pub y: i64 }
///
///     // The same fields under another name: another type too. Its derive names the crate
///     // through a path of the caller's choice.
///     #[derive(dsu::Fingerprint)]
///     #[dsu(crate = ::dsu)]
///     pub struct Same { pub x: i32, pub y: i32 }
/// }
///
/// #[derive(dsu::Fingerprint)]
/// pub enum Frame { Array(Vec<Frame>), Text(String) }
///
/// use dsu::fingerprint::of;
/// assert_ne!(of::<Point>(), of::<v2::Point>());
/// assert_ne!(of::<Point>(), of::<v2::Same>());
/// assert_ne!(of::<Frame>(), of::<Vec<Frame>>());
/// ```
///
/// writes
///
/// ```text
/// const _: () = {
///     use ::dsu as __dsu_alias;
///     unsafe impl __dsu_alias::Fingerprint for Point {
///         const SHAPE: Shape = shape(
///             combine(&[/* "Point", "struct", "x", "y" */]),
///             &[/* i32's shape, i32's shape */],
///         );
///     }
/// };
/// ```
#[proc_macro_derive(Fingerprint, attributes(dsu))]
pub fn derive_fingerprint(input: TokenStream) -> TokenStream {
    fingerprint_derive::expand(input.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// The fingerprint an update compares for a type of any crate, as an `Option<u128>`: the
/// type's own, from its `Fingerprint`, or, for a type of another crate, the one made of its
/// name, its crate's release and the types written in it (`None` for a type whose shape cannot
/// be seen: one of the program's own types without `#[derive(dsu::Fingerprint)]`).
///
/// ```
/// #[derive(dsu::Fingerprint)]
/// pub struct Message { pub text: String }
///
/// let plain = dsu::fingerprint_of!(std::sync::mpsc::Receiver<Message>);
/// assert_eq!(plain, dsu::fingerprint::of::<std::sync::mpsc::Receiver<Message>>());
/// ```
///
/// A type of another crate has one too, with no code of the program's, in an image built by
/// cargo with `dsu::patch!()` (which tells the program's own crates from the others).
#[proc_macro]
pub fn fingerprint_of(input: TokenStream) -> TokenStream {
    let ty = match syn::parse::<syn::Type>(input) {
        Ok(ty) => ty,
        Err(error) => return error.into_compile_error().into(),
    };
    let mut probes = probe::Probes::new(quote::quote!(::dsu::__private), None);
    let shape = probes.shape(&ty);
    let items = probes.items();
    quote::quote!({ #items ::dsu::fingerprint::of_part(#shape) }).into()
}

/// The image's build record, for `dsu::patch!()`: the packages of the `Cargo.lock` it was
/// built with, a line each, in a static of the `.dsu.lock` section, and the library names of
/// its path packages in one of `.dsu.paths`. Not a public API.
#[doc(hidden)]
#[proc_macro]
pub fn __lock_record(input: TokenStream) -> TokenStream {
    lock_record::expand(input.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// The crate's graph, for `dsu::patch!()`: its functions, methods, consts, statics and macros
/// with their fingerprints and what each one's code names, in a static of the section given.
/// Not a public API.
#[doc(hidden)]
#[proc_macro]
pub fn __crate_graph(input: TokenStream) -> TokenStream {
    graph::expand(input.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}
