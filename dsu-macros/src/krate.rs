//! How generated code names the dsu crate, the one rule for every attribute and the derive.
//!
//! The crate is the `crate = path` an attribute gives (the derive's: `#[dsu(crate = path)]`),
//! for a program that renamed its dependency or reaches dsu through a re-export, and `::dsu`
//! otherwise. Generated code opens a block of its own with the alias
//!
//! ```text
//! use path as __dsu_alias;
//! ```
//!
//! and names everything of dsu through `__dsu_alias::` inside it, so that a wrong path is one error,
//! at the user's path, and the rest goes quiet. Only what must stand outside any block spells
//! the path itself: the attributes the generated code puts on the user's items
//! (`#[derive(path::Fingerprint)]`), and a global, whose type (`static NAME: path::Global<T>`)
//! does. A global spells it throughout: a wrong path is then the same error at the same place
//! each time, which the compiler reports once, where an alias would add a second error.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Path;

/// The crate when no `crate = path` is given.
pub(crate) fn default() -> Path {
    syn::parse_quote!(::dsu)
}

/// `use path as __dsu_alias;`, to open each block of generated code with.
pub(crate) fn alias(krate: &Path) -> TokenStream {
    // The whole `use` tree is the error's span: `as __dsu_alias` gets the span of the path's end.
    let end = krate.segments.last().map_or_else(Span::call_site, |segment| segment.ident.span());
    let alias = quote_spanned!(end=> as __dsu_alias);
    quote!(use #krate #alias;)
}
