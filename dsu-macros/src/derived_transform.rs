//! The transformer `#[updateable(was = OldType)]` derives for a struct: each field of the new
//! version converted from the old version's field of the same name, or its default if the old
//! version has none; a field the new version dropped is not read.
//!
//! ```text
//! const _: () = {
//!     use ::dsu as __dsu_alias;
//!     impl __dsu_alias::Transform<v1::Entry> for Entry {
//!         fn transform(old: &v1::Entry) -> Self {
//!             Entry {
//!                 value: (&FieldOf::<_, {hash of "value"}>(old)).get(),
//!                 hits: (&FieldOf::<_, {hash of "hits"}>(old)).get(),
//!             }
//!         }
//!     }
//! };
//! ```
//!
//! `FieldOf` (in the runtime) picks, at compile time, the old field if `v1::Entry` has one of
//! that name (its `#[derive(dsu::Fingerprint)]` says so), else the default. A field whose type
//! changed needs a `Transform` between the two types, or this does not compile, at the field.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{ItemEnum, ItemStruct, Path, Type};

use crate::fingerprint_derive::{bindings, field_hash, with_fields};

pub(crate) fn expand(krate: &Path, item: &ItemStruct, was: &Type) -> TokenStream {
    let mut item = item.clone();
    with_fingerprint(krate, &mut item.attrs);
    let ident = &item.ident;
    let conversion = struct_conversion(krate, &item, &quote!(#ident), &quote!(#was));
    quote! {
        #item
        #conversion
    }
}

/// The derived `impl Transform<was> for name` of the struct `item`, named `name` where the
/// impl is written.
pub(crate) fn struct_conversion(
    krate: &Path,
    item: &ItemStruct,
    name: &TokenStream,
    was: &TokenStream,
) -> TokenStream {
    let fields = item.fields.iter().map(|field| {
        let ident = field.ident.as_ref().expect("checked: named fields");
        let hash = field_hash(ident);
        quote_spanned!(field.span()=>
            #ident: (&__dsu_alias::__private::FieldOf::<_, #hash>(old)).get()
        )
    });
    let alias = crate::krate::alias(krate);
    quote! {
        const _: () = {
            #alias
            impl __dsu_alias::Transform<#was> for #name {
                // The `&` before each `FieldOf` is what makes a missing field fall back to its
                // default: the borrow is not needless.
                #[allow(clippy::needless_borrow)]
                fn transform(old: &#was) -> Self {
                    __dsu_alias::__private::counted();
                    #[allow(unused_imports)]
                    use __dsu_alias::__private::{FromDefault as _, FromOld as _};
                    #name { #(#fields),* }
                }
            }
        };
    }
}

/// The transformer of an enum whose variants were added (or whose variants' fields changed
/// type, each with its `Transform`): every variant of the old enum becomes the variant of the
/// same name. The old enum's `#[derive(dsu::Fingerprint)]` writes the match
/// (`VariantsOf`); this writes how each variant is made from the old one's fields:
///
/// ```text
/// impl<'a, O0> Variant<{hash of "B"}, (&'a O0,)> for Kind where u64: Transform<O0> {
///     fn make((f0,): (&'a O0,)) -> Self { Kind::B(Transform::transform(f0)) }
/// }
/// impl Transform<v1::Kind> for Kind {
///     fn transform(old: &v1::Kind) -> Self { VariantsOf::to_new(old) }
/// }
/// ```
///
/// A variant the new enum lacks leaves the old one's `VariantsOf` unsatisfied: no
/// transformer, a compile error that names the variant's hash, at the `was` type.
pub(crate) fn expand_enum(krate: &Path, item: &ItemEnum, was: &Type) -> TokenStream {
    let mut item = item.clone();
    with_fingerprint(krate, &mut item.attrs);
    let ident = &item.ident;
    let conversion = enum_conversion(krate, &item, &quote!(#ident), was);
    quote! {
        #item
        #conversion
    }
}

/// The derived `impl Transform<was> for name` of the enum `item`, named `name` where the impl is
/// written, whose field types name there what they name in `item`.
pub(crate) fn enum_conversion(
    krate: &Path,
    item: &ItemEnum,
    name: &TokenStream,
    was: &impl ToTokens,
) -> TokenStream {
    let private = quote!(__dsu_alias::__private);
    let variants = item.variants.iter().map(|variant| {
        let ident = &variant.ident;
        let hash = field_hash(ident);
        let types: Vec<&Type> = variant.fields.iter().map(|field| &field.ty).collect();
        let olds: Vec<syn::Ident> =
            (0..types.len()).map(|i| format_ident!("__DsuOld{}", i)).collect();
        let bindings = bindings(variant);
        let values =
            bindings.iter().map(|binding| quote!(__dsu_alias::Transform::transform(#binding)));
        let value = with_fields(name, variant, values);
        quote_spanned! {variant.span()=>
            impl<'a, #(#olds),*> #private::Variant<#hash, (#(&'a #olds,)*)> for #name
            where #(#types: __dsu_alias::Transform<#olds>),*
            {
                #[allow(unused_variables)]
                fn make((#(#bindings,)*): (#(&'a #olds,)*)) -> Self {
                    #value
                }
            }
        }
    });
    // The error of an old enum without the derive (no `VariantsOf`), or without a variant the
    // new one has (an unmet `Variant` bound), goes at the whole `was` type.
    let to_new = quote_spanned!(was.span()=> <#was as #private::VariantsOf<Self>>::to_new(old));
    let alias = crate::krate::alias(krate);
    quote! {
        const _: () = {
            #alias
            #(#variants)*
            impl __dsu_alias::Transform<#was> for #name {
                fn transform(old: &#was) -> Self {
                    __dsu_alias::__private::counted();
                    #to_new
                }
            }
        };
    }
}

/// Derives `Fingerprint` for the type, unless its attributes already do: an updateable type
/// needs one, as every type the runtime compares across versions.
pub(crate) fn with_fingerprint(krate: &Path, attrs: &mut Vec<syn::Attribute>) {
    let derived = attrs.iter().any(|attr| {
        attr.path().is_ident("derive")
            && attr.meta.to_token_stream().to_string().contains("Fingerprint")
    });
    if !derived {
        attrs.push(syn::parse_quote!(#[derive(#krate::Fingerprint)]));
        attrs.push(syn::parse_quote!(#[dsu(crate = #krate)]));
    }
}
