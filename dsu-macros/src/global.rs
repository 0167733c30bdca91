//! The code `#[updateable]` writes for a global:
//!
//! ```text
//! static NAME: ::dsu::Global<T> = {
//!     use ::dsu as __dsu_alias;
//!     fn __dsu_init() -> T { init }
//!     #krate::Global::new(concat!(module_path!(), "::NAME"), __dsu_init, fingerprinted::<T>())
//! };
//! const _: () = {
//!     extern "C" fn __dsu_instance() -> *const () { NAME.own_instance() }
//!     #[distributed_slice(GLOBALS)]
//!     static __DSU_GLOBAL: GlobalDesc = GlobalDesc {
//!         path, type_text, shape: NAME.shape(),
//!         global: NAME.as_erased(), instance: __dsu_instance,
//!     };
//! };
//! ```
//!
//! The initialiser runs on first use, in the program, so it may be any expression.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{ItemStatic, Path};

use crate::signature::tidy;

/// The global's declaration, without its registration: what `expand` writes first, and, when
/// the attribute is refused, what goes out beside the error, so that the code that uses the
/// global still type-checks.
pub(crate) fn declaration(krate: &Path, global: &ItemStatic) -> TokenStream {
    let ItemStatic { attrs, vis, static_token, ident, ty, expr, .. } = global;
    let name = ident.to_string();
    let path = quote!(::core::concat!(::core::module_path!(), "::", #name));
    // The one error of a type without a fingerprint, at the type.
    let fingerprint = quote_spanned!(ty.span()=> #krate::__private::fingerprinted::<#ty>());
    // The type stands outside any block, so the whole global spells the path (see `krate.rs`).
    quote! {
        #(#attrs)*
        #vis #static_token #ident: #krate::Global<#ty> = {
            #[allow(clippy::missing_const_for_fn)]
            fn __dsu_init() -> #ty {
                #expr
            }
            #krate::Global::new(#path, __dsu_init, #fingerprint)
        };
    }
}

pub(crate) fn expand(
    krate: &Path,
    global: &ItemStatic,
    was: Option<&syn::Type>,
    reversible: bool,
) -> TokenStream {
    let ItemStatic { ident, ty, .. } = global;
    let name = ident.to_string();
    let path = quote!(::core::concat!(::core::module_path!(), "::", #name));
    let type_text = tidy(&ty.to_token_stream().to_string());
    let declaration = declaration(krate, global);
    if cfg!(feature = "disabled") {
        return declaration; // reached through `with` all the same, but never by a patch
    }
    let private = quote!(#krate::__private);
    // A global whose type changed: the old type's fingerprint, which the runtime checks, and
    // the transformer made of the `Transform` impls from it.
    let none = quote!(::core::option::Option::None);
    let (was_shape, was_text, transform, reverse) = match was {
        Some(was) => (
            quote_spanned!(was.span()=>
                #private::ROption::RSome(<#was as #krate::Fingerprint>::SHAPE)
            ),
            tidy(&was.to_token_stream().to_string()),
            quote_spanned!(was.span()=>
                ::core::option::Option::Some(#krate::Global::<#ty>::transformer::<#was>())
            ),
            match reversible {
                true => quote_spanned!(was.span()=>
                    ::core::option::Option::Some(#krate::Global::<#was>::transformer::<#ty>())
                ),
                false => none.clone(),
            },
        ),
        None => (quote!(#private::ROption::RNone), String::new(), none.clone(), none),
    };
    quote! {
        #declaration
        const _: () = {
            use #krate::__private::linkme;
            extern "C" fn __dsu_instance() -> *const () {
                #ident.own_instance()
            }
            #[linkme::distributed_slice(#private::GLOBALS)]
            #[linkme(crate = #private::linkme)]
            static __DSU_GLOBAL: #private::GlobalDesc = #private::GlobalDesc {
                path: #private::RStr::from_str(#path),
                type_text: #private::RStr::from_str(#type_text),
                shape: #ident.shape(),
                global: #ident.as_erased(),
                instance: __dsu_instance,
                was: #was_shape,
                was_text: #private::RStr::from_str(#was_text),
                transform: #transform,
                reverse: #reverse,
            };
        };
    }
}
