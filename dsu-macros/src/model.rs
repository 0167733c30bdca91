//! What `#[updateable]` can be put on, parsed into a small model that keeps the user's
//! tokens for spans.

use proc_macro2::TokenStream;
use syn::spanned::Spanned;

pub(crate) enum Item {
    /// `fn name(..) { .. }`
    Fn(syn::ItemFn),
    /// `impl Type { .. }` or `impl Trait for Type { .. }`
    Impl(syn::ItemImpl),
}

pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Item> {
    match syn::parse2::<syn::Item>(tokens)? {
        syn::Item::Fn(item) => Ok(Item::Fn(item)),
        syn::Item::Impl(item) => Ok(Item::Impl(item)),
        syn::Item::Struct(item) => Err(not_here(&item, "a struct")),
        syn::Item::Enum(item) => Err(not_here(&item, "an enum")),
        syn::Item::Union(item) => Err(not_here(&item, "a union")),
        syn::Item::Static(item) => Err(not_here(&item, "a static")),
        other => Err(syn::Error::new(
            other.span(),
            "#[dsu::updateable] goes on a function or on an impl block",
        )),
    }
}

fn not_here(item: &impl Spanned, what: &str) -> syn::Error {
    syn::Error::new(
        item.span(),
        format!(
            "#[dsu::updateable] on {what} is not supported yet; put it on functions and impl \
             blocks, and derive `dsu::Fingerprint` for types used in their signatures"
        ),
    )
}
