//! The code `#[updateable]` writes for a type: the type, with its fingerprint derived, made
//! `Updateable` so that state cells (`dsu::State`) hold it, and registered with the runtime;
//! with `was = OldType`, the transformer from the running version's type too, and with
//! `reversible` the one back:
//!
//! ```text
//! #[derive(dsu::Fingerprint)]
//! struct Name { .. }
//! /* with `was`: impl Transform<OldType> for Name (`derived_transform.rs`) */
//! const _: () = {
//!     static __DSU_KIND: Kind = Kind::new::<Name>(concat!(module_path!(), "::Name"));
//!     unsafe impl Updateable for Name { fn kind() -> &'static Kind { &__DSU_KIND } }
//!     unsafe extern "C" fn __dsu_transform(old: *const (), out: *mut ()) { .. }
//!     #[distributed_slice(TYPES)]
//!     static __DSU_TYPE: TypeDesc = TypeDesc {
//!         path, shape: __DSU_KIND.shape(), kind: __DSU_KIND.as_erased(), was, ..
//!     };
//! };
//! ```

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Ident, Path, Type};

use crate::args::Args;
use crate::global::respanned;

/// The type `item` (a struct or an enum, named `ident`) with what `#[updateable]` writes for
/// it.
pub(crate) fn expand(args: &Args, item: &syn::Item, ident: &Ident) -> TokenStream {
    let krate = &args.krate;
    let private = quote!(#krate::__private);
    let was = args.was.as_ref().map(|(_, was)| was);
    // The transformer from `was` is derived, unless the arguments name a hand-written one.
    let derived = was.filter(|_| args.transform.is_none());
    let typed = match (item, derived) {
        (syn::Item::Struct(item), Some(was)) => crate::derived_transform::expand(krate, item, was),
        (syn::Item::Enum(item), Some(was)) => {
            crate::derived_transform::expand_enum(krate, item, was)
        }
        (syn::Item::Struct(item), None) => {
            let mut item = item.clone();
            crate::derived_transform::with_fingerprint(krate, &mut item.attrs);
            item.into_token_stream()
        }
        (syn::Item::Enum(item), None) => {
            let mut item = item.clone();
            crate::derived_transform::with_fingerprint(krate, &mut item.attrs);
            item.into_token_stream()
        }
        _ => unreachable!("checked: a struct or an enum"),
    };
    // The function named exists: a name that is not one is reported where it is written. (Its
    // `Transform` impl, which the transformer calls, is reported at `was` if it is missing.)
    // Nothing derived then checks that `was` has a fingerprint, as the update needs.
    let named = match (&args.transform, was) {
        (Some((_, function)), Some(was)) => {
            let fingerprinted = quote_spanned!(was.span()=>
                const _: #private::Shape = <#was as #krate::Fingerprint>::SHAPE;
            );
            quote! {
                #fingerprinted
                const _: () = {
                    let _ = #function;
                };
            }
        }
        _ => quote!(),
    };
    let registration = registration(krate, ident, was, args.reversible.is_some());
    quote! {
        #typed
        #named
        #registration
    }
}

/// The type's kind, its `Updateable` impl, its transformers, and its descriptor.
fn registration(krate: &Path, ident: &Ident, was: Option<&Type>, reversible: bool) -> TokenStream {
    let private = quote!(#krate::__private);
    let name = ident.to_string();
    let path = quote!(::core::concat!(::core::module_path!(), "::", #name));
    let none = quote!(::core::option::Option::None);
    let (was_shape, was_text, transform, reverse, functions) = match was {
        Some(was) => {
            let was_text = crate::signature::tidy(&was.to_token_stream().to_string());
            // A missing transformer is reported at the `was` type; the one back at the name.
            // The functions are written at the call site: a crate that forbids `unsafe` forbids
            // it in its own code only.
            let new_at_was = respanned(ident.to_token_stream(), was.span());
            let was_at_new = respanned(was.to_token_stream(), ident.span());
            let transform = quote! {
                unsafe extern "C" fn __dsu_transform(old: *const (), out: *mut ()) {
                    static KEPT: ::std::sync::OnceLock<#private::Hash128> =
                        ::std::sync::OnceLock::new();
                    // SAFETY: the runtime's contract for a transformer: `old` is a live instance
                    // of the `was` type, `out` a result to write; `KEPT` is this shape's alone.
                    unsafe {
                        #private::transformed_kept::<#new_at_was, #was>(
                            &__DSU_KIND.shape(),
                            &KEPT,
                            old,
                            out,
                        )
                    }
                }
            };
            let reverse_fn = quote! {
                unsafe extern "C" fn __dsu_reverse(new: *const (), out: *mut ()) {
                    static KEPT: ::std::sync::OnceLock<#private::Hash128> =
                        ::std::sync::OnceLock::new();
                    // SAFETY: as for `__dsu_transform`, the other way.
                    unsafe {
                        #private::transformed_kept::<#was_at_new, #ident>(&__DSU_WAS, &KEPT, new, out)
                    }
                }
            };
            let (reverse, reverse_fn) = match reversible {
                true => (quote!(::core::option::Option::Some(__dsu_reverse)), reverse_fn),
                false => (none.clone(), quote!()),
            };
            (
                quote!(#private::ROption::RSome(__DSU_WAS)),
                was_text,
                quote!(::core::option::Option::Some(__dsu_transform)),
                reverse,
                quote! {
                    // Quiet when `was` has no fingerprint: the derived transformer, or the check
                    // beside a named one, reports it.
                    const __DSU_WAS: #private::Shape = {
                        #[allow(unused_imports)]
                        use #private::Unchecked as _;
                        #private::Checked::<#was>::SHAPE
                    };
                    #transform
                    #reverse_fn
                },
            )
        }
        None => (quote!(#private::ROption::RNone), String::new(), none.clone(), none, quote!()),
    };
    quote! {
        const _: () = {
            use #private::linkme;
            static __DSU_KIND: #private::Kind = #private::Kind::new::<#ident>(#path);
            // SAFETY: the one kind of the type in this image, registered below with the type's
            // path and shape.
            unsafe impl #krate::Updateable for #ident {
                fn kind() -> &'static #private::Kind {
                    &__DSU_KIND
                }
            }
            #functions
            #[linkme::distributed_slice(#private::TYPES)]
            #[linkme(crate = #private::linkme)]
            static __DSU_TYPE: #private::TypeDesc = #private::TypeDesc {
                path: #private::RStr::from_str(#path),
                shape: __DSU_KIND.shape(),
                kind: __DSU_KIND.as_erased(),
                was: #was_shape,
                was_text: #private::RStr::from_str(#was_text),
                transform: #transform,
                reverse: #reverse,
            };
        };
    }
}
