//! `#[derive(Fingerprint)]`: a type's shape, whose node is made of its name, its `repr`, its
//! kind, the names of its fields and variants and the nodes of its type parameters, and whose
//! parts are its field types, in order.
//!
//! ```text
//! const _: () = {
//!     use ::dsu as __dsu_alias;
//!     unsafe impl Fingerprint for Point {
//!         const SHAPE: Shape = shape(
//!             combine(&[of_str("Point"), of_str(/* repr */), of_str("struct"),
//!                 combine(&[of_str("{}"), of_str("x"), of_str("y")])]),
//!             &[ShapeOf(shape_of::<i32>), ShapeOf(shape_of::<i32>)],
//!         );
//!     }
//!     // Evaluates each field type's shape that names no parameter, so that a type refused by
//!     // a panic in its shape (`TypeId`) is refused at the field:
//!     const _: u128 = Checked::<i32>::NODE;
//!     impl Field<{hash of "x"}> for Point { type Type = i32; fn field(&self) -> &i32 { &self.x } }
//!     ..
//! };
//! ```

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

use crate::args;
use crate::probe::Probes;

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    // A mistake in `#[dsu(..)]` is reported beside the impl, written with the crate the
    // arguments name: every use of the type then goes quiet, and the mistake is one error.
    let (krate, mistakes) = args::of_derive(&input.attrs);
    let mistakes = mistakes.map(syn::Error::into_compile_error);
    let alias = crate::krate::alias(&krate);
    let private = quote!(__dsu_alias::__private);
    let name = &input.ident;
    let ident = name.to_string();
    let mut parts = vec![quote!(#private::of_str(#ident))];
    let repr: Vec<String> = input
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("repr"))
        .map(|attr| attr.meta.to_token_stream().to_string())
        .collect();
    let repr = repr.join(",");
    parts.push(quote!(#private::of_str(#repr)));
    let mut types = Vec::new();
    let union_fields;
    match &input.data {
        Data::Struct(data) => {
            parts.push(quote!(#private::of_str("struct")));
            parts.push(fields(&data.fields, &mut types));
        }
        Data::Enum(data) => {
            parts.push(quote!(#private::of_str("enum")));
            // Each variant one part: its name, its discriminant's value (worked out, so that
            // a `const` it names counts) and its fields.
            for variant in &data.variants {
                let name = variant.ident.to_string();
                let discriminant = match &variant.discriminant {
                    Some((_, value)) => quote!(#private::combine(&[
                        #private::of_str("="),
                        (#value) as i128 as u128,
                    ])),
                    None => quote!(#private::of_str("next")),
                };
                let fields = fields(&variant.fields, &mut types);
                parts.push(quote!(#private::combine(&[
                    #private::of_str(#name),
                    #discriminant,
                    #fields,
                ])));
            }
        }
        Data::Union(data) => {
            parts.push(quote!(#private::of_str("union")));
            union_fields = Fields::Named(data.fields.clone());
            parts.push(fields(&union_fields, &mut types));
        }
    }
    for param in input.generics.type_params() {
        let param = &param.ident;
        parts.push(quote!(#private::node_of::<#param>()));
    }
    for param in input.generics.const_params() {
        let param = &param.ident;
        parts.push(quote!(#param as u128));
    }
    let mut generics = input.generics.clone();
    for param in generics.type_params_mut() {
        param.bounds.push(syn::parse_quote!(__dsu_alias::Fingerprint));
    }
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();
    // Each field type through `Probe` (`probe.rs`), `Self` written as the type: the items a
    // probe needs are outside the impl, where `Self` is not the type.
    let this: syn::Type = syn::parse_quote!(#name #type_generics);
    let types: Vec<syn::Type> = types
        .iter()
        .map(|ty| {
            let mut ty = (*ty).clone();
            crate::signature::replace_self(&mut ty, &this);
            ty
        })
        .collect();
    let mut probes = Probes::new(private.clone(), Some(&generics));
    let shapes: Vec<TokenStream> = types.iter().map(|ty| probes.shape(ty)).collect();
    let probes = probes.items();
    // A field type that names no parameter is checked here, at the field: the shape's parts
    // are functions, which would be refused only when the program is built.
    let generic_names: Vec<&syn::Ident> = (input.generics.type_params().map(|p| &p.ident))
        .chain(input.generics.const_params().map(|p| &p.ident))
        .chain(input.generics.lifetimes().map(|p| &p.lifetime.ident))
        .collect();
    let checks = types.iter().filter(|ty| !mentions_any(ty, &generic_names)).map(|ty| {
        let mut probes = Probes::new(private.clone(), None);
        let node = probes.node(ty);
        let probes = probes.items();
        quote_spanned!(ty.span()=> const _: u128 = { #probes #node };)
    });
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
    let type_name = input.ident.to_string();
    let variants = match &input.data {
        Data::Enum(data) if input.generics.params.is_empty() => Some(to_news(&private, name, data)),
        _ => None,
    };
    Ok(quote! {
        const _: () = {
            #alias
            // SAFETY: the shape is made of the type's name, kind, `repr`, field and variant
            // names and parameters, and of its field types' shapes: it changes with the type.
            unsafe impl #impl_generics __dsu_alias::Fingerprint for #name #type_generics #where_clause {
                const SHAPE: #private::Shape = #private::shape(
                    #private::combine(&[#(#parts),*]),
                    &[#(#shapes),*],
                );
                const NAME: &'static str = #type_name;
            }
            #probes
            #(#checks)*
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
    name: &impl ToTokens,
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

/// The part of a list of fields: their kind and names, in order, as one combination (so that
/// no two lists of fields run into each other); their types go to `types`.
fn fields<'a>(fields: &'a Fields, types: &mut Vec<&'a syn::Type>) -> TokenStream {
    let kind = match fields {
        Fields::Named(_) => "{}",
        Fields::Unnamed(_) => "()",
        Fields::Unit => "unit",
    };
    let names = fields.iter().enumerate().map(|(i, field)| {
        types.push(&field.ty);
        field.ident.as_ref().map_or_else(|| i.to_string(), ToString::to_string)
    });
    let names: Vec<String> = names.collect();
    quote!(__dsu_alias::__private::combine(&[
        __dsu_alias::__private::of_str(#kind),
        #(__dsu_alias::__private::of_str(#names)),*
    ]))
}

/// Whether `ty` names one of `names` (a parameter) or `Self` anywhere.
fn mentions_any(ty: &syn::Type, names: &[&syn::Ident]) -> bool {
    struct Finder<'n>(&'n [&'n syn::Ident], bool);
    impl syn::visit::Visit<'_> for Finder<'_> {
        fn visit_ident(&mut self, ident: &proc_macro2::Ident) {
            self.1 |= ident == "Self" || self.0.contains(&ident);
        }
    }
    let mut finder = Finder(names, false);
    syn::visit::Visit::visit_type(&mut finder, ty);
    finder.1
}
