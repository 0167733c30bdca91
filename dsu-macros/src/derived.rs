//! The transformer `#[updateable(was = OldType)]` derives for a struct: each field of the new
//! version converted from the old version's field of the same name, or its default if the old
//! version has none; a field the new version dropped is not read.
//!
//! ```ignore
//! impl Transform<v1::Entry> for Entry {
//!     fn transform(old: &v1::Entry) -> Self {
//!         Entry {
//!             value: (&FieldOf::<_, {hash of "value"}>(old)).get(),
//!             hits: (&FieldOf::<_, {hash of "hits"}>(old)).get(),
//!         }
//!     }
//! }
//! ```
//!
//! `FieldOf` (in the runtime) picks, at compile time, the old field if `v1::Entry` has one of
//! that name (its `#[derive(dsu::Fingerprint)]` says so), else the default. A field whose type
//! changed needs a `Transform` between the two types, or this does not compile, at the field.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemStruct, Path, Type};

use crate::derive::field_hash;

pub(crate) fn expand(krate: &Path, item: &ItemStruct, was: &Type) -> TokenStream {
    let name = &item.ident;
    let fields = item.fields.iter().map(|field| {
        let ident = field.ident.as_ref().expect("checked: named fields");
        let hash = field_hash(ident);
        quote_spanned!(field.span()=>
            #ident: (&#krate::__private::FieldOf::<_, #hash>(old)).get()
        )
    });
    quote! {
        #item
        impl #krate::Transform<#was> for #name {
            // The `&` before each `FieldOf` is what makes a missing field fall back to its
            // default: the borrow is not needless.
            #[allow(clippy::needless_borrow)]
            fn transform(old: &#was) -> Self {
                #[allow(unused_imports)]
                use #krate::__private::{FromDefault as _, FromOld as _};
                #name { #(#fields),* }
            }
        }
    }
}
