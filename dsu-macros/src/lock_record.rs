//! `__lock_record!(NAME)`: a static `NAME` holding the bytes of the `Cargo.lock` the crate being
//! compiled is built with, in the section `.dsu.lock`, where the runtime reads a patch's before
//! loading it (`dsu-rt`'s `lock.rs`).

use std::path::PathBuf;

use proc_macro2::TokenStream;
use quote::quote;
use syn::Ident;

/// The section the record is in.
const SECTION: &str = ".dsu.lock";

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let name: Ident = syn::parse2(input)?;
    // `include_bytes!` makes the crate depend on the file: a new lock file rebuilds it.
    let bytes = match lock_file() {
        Some(path) => quote!(*::core::include_bytes!(#path)),
        None => quote!([]),
    };
    let len = match lock_file() {
        Some(path) => quote!(::core::include_bytes!(#path).len()),
        None => quote!(0),
    };
    Ok(quote! {
        #[doc(hidden)]
        #[used]
        #[unsafe(link_section = #SECTION)]
        static #name: [u8; #len] = #bytes;
    })
}

/// The lock file cargo uses for the crate: in its package's directory or the nearest above it
/// (a workspace's is at the workspace's root), as a path a string literal can hold.
fn lock_file() -> Option<String> {
    let mut dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    loop {
        let lock = dir.join("Cargo.lock");
        if lock.is_file() {
            return lock.to_str().map(str::to_owned);
        }
        if !dir.pop() {
            return None;
        }
    }
}
