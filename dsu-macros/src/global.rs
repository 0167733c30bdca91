//! The code `#[updateable]` writes for a global:
//!
//! ```text
//! static NAME: ::dsu::Global<T> = {
//!     use ::dsu as __dsu_alias;
//!     fn __dsu_init() -> T { init }
//!     #krate::Global::new(concat!(module_path!(), "::NAME"), __dsu_init, fingerprinted::<T>())
//! };
//! const _: () = {
//!     unsafe extern "C" fn __dsu_instance(out: *mut ()) { NAME.instance_into(out) }
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
    let private = quote!(#krate::__private);
    let (fingerprinted, probes) = probed(&private, ty);
    // The type stands outside any block, so the whole global spells the path (see `krate.rs`).
    quote! {
        #(#attrs)*
        #vis #static_token #ident: #krate::Global<#ty> = {
            #[allow(clippy::missing_const_for_fn)]
            fn __dsu_init() -> #ty {
                #expr
            }
            #probes
            #krate::Global::new(#path, __dsu_init, #fingerprinted)
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
    let (was_shape, was_text, transform, reverse, was_items) = match was {
        Some(was) => {
            let (fingerprinted, probes) = probed(&private, was);
            // A missing transformer is reported at the type it would convert from: the `was`
            // type forwards, the global's own type back.
            let new_at_was = respanned(ty.to_token_stream(), was.span());
            let was_at_new = respanned(was.to_token_stream(), ty.span());
            let transform = quote_spanned!(was.span()=>
                ::core::option::Option::Some(__dsu_transform)
            );
            let reverse = match reversible {
                true => quote_spanned!(was.span()=> ::core::option::Option::Some(__dsu_reverse)),
                false => none.clone(),
            };
            // The runtime calls these with instances of the types they read (`plan.rs`).
            // Written at the call site: a crate that forbids `unsafe` forbids it in its own code
            // only (the missing transformer is still reported at the types).
            let functions = quote! {
                #probes
                const __DSU_WAS: #private::Fingerprinted<#was> = #fingerprinted;
                unsafe extern "C" fn __dsu_transform(old: *const (), out: *mut ()) {
                    // SAFETY: the runtime's contract for a transformer: `old` is a live
                    // instance of the `was` type, `out` a result to write.
                    unsafe { #private::transformed::<#new_at_was, #was>(&#ident.shape(), old, out) }
                }
            };
            let functions = match reversible {
                false => functions,
                true => quote! {
                    #functions
                    unsafe extern "C" fn __dsu_reverse(new: *const (), out: *mut ()) {
                        // SAFETY: as for `__dsu_transform`, the other way.
                        unsafe {
                            #private::transformed::<#was_at_new, #ty>(&__DSU_WAS.shape(), new, out)
                        }
                    }
                },
            };
            (
                quote!(#private::ROption::RSome(__DSU_WAS.shape())),
                tidy(&was.to_token_stream().to_string()),
                transform,
                reverse,
                functions,
            )
        }
        None => (quote!(#private::ROption::RNone), String::new(), none.clone(), none, quote!()),
    };
    quote! {
        #declaration
        const _: () = {
            use #krate::__private::linkme;
            #was_items
            unsafe extern "C" fn __dsu_instance(out: *mut ()) {
                // SAFETY: the runtime's contract for `GlobalDesc::instance`: `out` is a result
                // to write.
                unsafe { #ident.instance_into(out) }
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

/// `Fingerprinted::<ty>::probed(..)`, the shape of a global of `ty` with the type read through
/// `Probe` (`probe.rs`), and the items the probe needs, to go in the same block.
fn probed(private: &TokenStream, ty: &syn::Type) -> (TokenStream, TokenStream) {
    let mut probes = crate::probe::Probes::new(private.clone(), None);
    let shape = probes.shape(ty);
    let probes = probes.items();
    // At the call site: a crate that forbids `unsafe` forbids it in its own code only.
    let fingerprinted = quote!(
        // SAFETY: `Probe` gives the shape of `ty`, its own or a foreign one.
        unsafe { #private::Fingerprinted::<#ty>::probed(&[#shape]) }
    );
    (fingerprinted, probes)
}

/// `tokens`, every one of them at `span`.
pub(crate) fn respanned(tokens: TokenStream, span: proc_macro2::Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respanned(group.stream(), span));
                inner.set_span(span);
                token = proc_macro2::TokenTree::Group(inner);
            }
            token.set_span(span);
            token
        })
        .collect()
}
