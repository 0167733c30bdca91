//! `#[derive(Fingerprint)]`: a type's structural fingerprint, from its kind, its `repr`, the
//! names of its fields and variants, and their types' fingerprints.
//!
//! ```text
//! const _: () = {
//!     use ::dsu as __dsu_alias;
//!     unsafe impl Fingerprint for Point {
//!         const FINGERPRINT: u128 = combine(&[of_str(/* repr */), of_str("struct"), of_str("{}"),
//!             of_str("x"), <i32 as Fingerprint>::FINGERPRINT, ..]);
//!     }
//!     impl Field<{hash of "x"}> for Point { type Type = i32; fn field(&self) -> &i32 { &self.x } }
//!     ..
//! };
//! ```

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::{Data, DeriveInput, Fields};

use crate::args;

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    // A mistake in `#[dsu(..)]` is reported beside the impl, written with the crate the
    // arguments name: every use of the type then goes quiet, and the mistake is one error.
    let (krate, mistakes) = args::of_derive(&input.attrs);
    let mistakes = mistakes.map(syn::Error::into_compile_error);
    let alias = crate::krate::alias(&krate);
    let private = quote!(__dsu_alias::__private);
    let mut parts = Vec::new();
    let repr: Vec<String> = input
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("repr"))
        .map(|attr| attr.meta.to_token_stream().to_string())
        .collect();
    let repr = repr.join(",");
    parts.push(quote!(#private::of_str(#repr)));
    match &input.data {
        Data::Struct(data) => {
            parts.push(quote!(#private::of_str("struct")));
            fields(&data.fields, &mut parts);
        }
        Data::Enum(data) => {
            parts.push(quote!(#private::of_str("enum")));
            for variant in &data.variants {
                let name = variant.ident.to_string();
                parts.push(quote!(#private::of_str(#name)));
                if let Some((_, discriminant)) = &variant.discriminant {
                    let text = discriminant.to_token_stream().to_string();
                    parts.push(quote!(#private::of_str(#text)));
                }
                fields(&variant.fields, &mut parts);
            }
        }
        Data::Union(data) => {
            parts.push(quote!(#private::of_str("union")));
            fields(&Fields::Named(data.fields.clone()), &mut parts);
        }
    }
    let name = &input.ident;
    let mut generics = input.generics.clone();
    for param in generics.type_params_mut() {
        param.bounds.push(syn::parse_quote!(__dsu_alias::Fingerprint));
    }
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();
    // Each named field, by the hash of its name, for the transformer a later version writes
    // from this one (`#[dsu::updateable(was = ..)]` on a struct).
    let fields = match &input.data {
        Data::Struct(syn::DataStruct { fields: Fields::Named(named), .. }) => {
            named.named.iter().collect()
        }
        _ => Vec::new(),
    };
    let field_impls = fields.iter().map(|field| {
        let (ident, ty) = (field.ident.as_ref().expect("a named field"), &field.ty);
        let hash = field_hash(ident);
        let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
        quote! {
            impl #impl_generics #private::Field<#hash> for #name #type_generics #where_clause {
                type Type = #ty;
                fn field(&self) -> &#ty {
                    &self.#ident
                }
            }
        }
    });
    let variants = match &input.data {
        Data::Enum(data) if input.generics.params.is_empty() => Some(to_news(&private, name, data)),
        _ => None,
    };
    Ok(quote! {
        const _: () = {
            #alias
            // SAFETY: the fingerprint is made of the type's kind, `repr`, field and variant
            // names and their types' fingerprints: it changes with the type's shape.
            unsafe impl #impl_generics __dsu_alias::Fingerprint for #name #type_generics #where_clause {
                const FINGERPRINT: u128 = #private::combine(&[#(#parts),*]);
            }
            #(#field_impls)*
            #variants
        };
        #mistakes
    })
}

/// A name for each field of `variant`, in order: what a pattern binds and a transformer reads.
pub(crate) fn bindings(variant: &syn::Variant) -> Vec<syn::Ident> {
    (0..variant.fields.len()).map(|i| quote::format_ident!("__dsu_f{}", i)).collect()
}

/// `Name::Variant` with `values` for its fields, in order, as the variant's fields are written
/// (`{ a: .., b: .. }`, `(.., ..)` or nothing): a pattern or a value of the variant.
pub(crate) fn with_fields(
    name: &syn::Ident,
    variant: &syn::Variant,
    values: impl Iterator<Item = TokenStream>,
) -> TokenStream {
    let ident = &variant.ident;
    match &variant.fields {
        Fields::Named(named) => {
            let names = named.named.iter().map(|field| &field.ident);
            quote!(#name::#ident { #(#names: #values),* })
        }
        Fields::Unnamed(_) => quote!(#name::#ident(#(#values),*)),
        Fields::Unit => quote!(#name::#ident),
    }
}

/// For an enum, how each variant becomes the variant of the same name of a later version's
/// enum, for the transformer that version derives:
///
/// ```text
/// impl<New> VariantsOf<New> for Kind
/// where
///     New: for<'a> Variant<{hash of "A"}, ()>,
///     New: for<'a> Variant<{hash of "B"}, (&'a u32,)>,
/// {
///     fn to_new(&self) -> New {
///         match self {
///             Kind::A => <New as Variant<{..}, ()>>::make(()),
///             Kind::B(f0) => <New as Variant<{..}, (&u32,)>>::make((f0,)),
///         }
///     }
/// }
/// ```
fn to_news(private: &TokenStream, name: &syn::Ident, data: &syn::DataEnum) -> TokenStream {
    let mut bounds = Vec::new();
    let mut arms = Vec::new();
    for variant in &data.variants {
        let ident = &variant.ident;
        let hash = field_hash(ident);
        let types: Vec<&syn::Type> = variant.fields.iter().map(|field| &field.ty).collect();
        let bindings = bindings(variant);
        let pattern = with_fields(name, variant, bindings.iter().map(ToTokens::to_token_stream));
        bounds.push(quote!(New: for<'a> #private::Variant<#hash, (#(&'a #types,)*)>));
        arms.push(quote! {
            #pattern => <New as #private::Variant<#hash, (#(&#types,)*)>>::make((#(#bindings,)*))
        });
    }
    quote! {
        impl<New> #private::VariantsOf<New> for #name where #(#bounds),* {
            fn to_new(&self) -> New {
                match self {
                    #(#arms,)*
                }
            }
        }
    }
}

/// The constant a field is known by across versions: a hash of its name.
pub(crate) fn field_hash(ident: &syn::Ident) -> u128 {
    crate::hash::of_tokens(&ident.to_token_stream())
}

fn fields(fields: &Fields, parts: &mut Vec<TokenStream>) {
    let kind = match fields {
        Fields::Named(_) => "{}",
        Fields::Unnamed(_) => "()",
        Fields::Unit => "unit",
    };
    parts.push(quote!(__dsu_alias::__private::of_str(#kind)));
    for (i, field) in fields.iter().enumerate() {
        let name = field.ident.as_ref().map_or_else(|| i.to_string(), ToString::to_string);
        let ty = &field.ty;
        parts.push(quote!(__dsu_alias::__private::of_str(#name)));
        parts.push(quote!(<#ty as __dsu_alias::Fingerprint>::FINGERPRINT));
    }
}
