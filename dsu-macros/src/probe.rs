//! How generated code names the shape of a type: through `Probe`, which gives the type's own
//! shape when it has a `Fingerprint` and a foreign one otherwise (`dsu-rt`'s `foreign.rs`), so
//! that a type of another crate needs no code from the user. For each type with parameters
//! written in it, a `Parameters` type lists them, so that a user type inside a foreign one
//! (`broadcast::Receiver<Message>`) counts with its whole shape:
//!
//! ```text
//! use Foreign as _;
//! struct __DsuParameters0;
//! impl Parameters for __DsuParameters0 {
//!     const SHAPES: &'static [ShapeOf] = &[Probe::<Message, ()>::SHAPE];
//!     const NAMES: &'static [fn() -> &'static str] = &[name_of::<Message>];
//! }
//! .. Probe::<broadcast::Receiver<Message>, __DsuParameters0>::SHAPE ..
//! ```
//!
//! The items go in the block the probes are used in, which has the `use`: inherent constants
//! win over the trait's, so a type with a `Fingerprint` never reaches `Foreign`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{GenericArgument, Generics, PathArguments, ReturnType, Type, TypeParamBound};

/// The probes of one block of generated code, and the items they need.
pub(crate) struct Probes<'g> {
    private: TokenStream,
    /// The generics of the derived type, which each `Parameters` type takes (its parameters may
    /// name them); none for a signature or a global.
    generics: Option<&'g Generics>,
    items: Vec<TokenStream>,
}

impl<'g> Probes<'g> {
    pub(crate) fn new(private: TokenStream, generics: Option<&'g Generics>) -> Probes<'g> {
        let items = vec![quote!(use #private::Foreign as _;)];
        Probes { private, generics, items }
    }

    /// `ty`'s shape function: a `ShapeOf` constant.
    pub(crate) fn shape(&mut self, ty: &Type) -> TokenStream {
        let probe = self.probe(ty);
        quote!(#probe::SHAPE)
    }

    /// `ty`'s node, where it has a `Fingerprint` (0 otherwise, the foreign node being worked
    /// out at run time): a `u128` constant.
    pub(crate) fn node(&mut self, ty: &Type) -> TokenStream {
        let probe = self.probe(ty);
        quote!(#probe::NODE)
    }

    /// The items the probes need, the `use` first: to go in the block that uses them.
    pub(crate) fn items(self) -> TokenStream {
        let items = self.items;
        quote!(#(#items)*)
    }

    fn probe(&mut self, ty: &Type) -> TokenStream {
        let private = self.private.clone();
        let parameters = written_parameters(ty);
        if parameters.is_empty() {
            return quote!(#private::Probe::<#ty, ()>);
        }
        // The parameters' own items first, so that each name is taken once.
        let shapes: Vec<TokenStream> = parameters.iter().map(|p| self.shape(p)).collect();
        let name = format_ident!("__DsuParameters{}", self.items.len());
        let names = parameters.iter().map(|p| quote!(#private::name_of::<#p>));
        let empty = Generics::default();
        let (impl_generics, type_generics, where_clause) =
            self.generics.unwrap_or(&empty).split_for_impl();
        let marker = self.generics.map(|generics| {
            let types = generics.type_params().map(|p| &p.ident);
            let lifetimes = generics.lifetimes().map(|l| &l.lifetime);
            quote!((::core::marker::PhantomData<(#(fn() -> *const #types,)* #(&#lifetimes (),)*)>))
        });
        let (impl_generics, type_generics, where_clause) =
            (quote!(#impl_generics), quote!(#type_generics), quote!(#where_clause));
        self.items.push(quote! {
            #[allow(non_camel_case_types, dead_code)]
            struct #name #impl_generics #marker #where_clause;
            impl #impl_generics #private::Parameters for #name #type_generics #where_clause {
                const SHAPES: &'static [#private::ShapeOf] = &[#(#shapes),*];
                const NAMES: &'static [fn() -> &'static str] = &[#(#names),*];
            }
        });
        quote!(#private::Probe::<#ty, #name #type_generics>)
    }
}

/// The types written inside `ty` that its name shows: a path's type arguments, what a
/// reference, pointer, slice or array holds, a tuple's members, a `fn` pointer's or a `dyn`
/// trait's parameter types and return type.
fn written_parameters(ty: &Type) -> Vec<Type> {
    let mut out = Vec::new();
    match ty {
        Type::Path(path) if path.qself.is_none() => {
            for segment in &path.path.segments {
                arguments(&segment.arguments, &mut out);
            }
        }
        Type::Reference(reference) => out.push((*reference.elem).clone()),
        Type::Ptr(pointer) => out.push((*pointer.elem).clone()),
        Type::Slice(slice) => out.push((*slice.elem).clone()),
        Type::Array(array) => out.push((*array.elem).clone()),
        Type::Tuple(tuple) => out.extend(tuple.elems.iter().cloned()),
        Type::Paren(paren) => return written_parameters(&paren.elem),
        Type::Group(group) => return written_parameters(&group.elem),
        Type::BareFn(function) => {
            out.extend(function.inputs.iter().map(|input| input.ty.clone()));
            if let ReturnType::Type(_, returned) = &function.output {
                out.push((**returned).clone());
            }
        }
        Type::TraitObject(object) => {
            for bound in &object.bounds {
                if let TypeParamBound::Trait(bound) = bound {
                    for segment in &bound.path.segments {
                        arguments(&segment.arguments, &mut out);
                    }
                }
            }
        }
        _ => {}
    }
    out
}

fn arguments(arguments: &PathArguments, out: &mut Vec<Type>) {
    match arguments {
        PathArguments::AngleBracketed(angle) => {
            for argument in &angle.args {
                match argument {
                    GenericArgument::Type(ty) => out.push(ty.clone()),
                    GenericArgument::AssocType(binding) => out.push(binding.ty.clone()),
                    _ => {}
                }
            }
        }
        PathArguments::Parenthesized(parenthesized) => {
            out.extend(parenthesized.inputs.iter().cloned());
            if let ReturnType::Type(_, returned) = &parenthesized.output {
                out.push((**returned).clone());
            }
        }
        PathArguments::None => {}
    }
}

#[cfg(test)]
mod tests {
    use quote::ToTokens;

    use super::written_parameters;

    fn parameters(ty: &str) -> Vec<String> {
        let ty: syn::Type = syn::parse_str(ty).unwrap();
        written_parameters(&ty).iter().map(|p| p.to_token_stream().to_string()).collect()
    }

    #[test]
    fn the_parameters_a_name_shows() {
        assert_eq!(parameters("broadcast::Receiver<Message>"), ["Message"]);
        assert_eq!(parameters("HashMap<String, Vec<u8>>"), ["String", "Vec < u8 >"]);
        assert_eq!(parameters("&'static [Frame]"), ["[Frame]"]);
        assert_eq!(parameters("(u8, Bytes)"), ["u8", "Bytes"]);
        assert_eq!(
            parameters("Box<dyn Fn(Request) -> Reply + Send>"),
            ["dyn Fn (Request) -> Reply + Send"]
        );
        assert_eq!(parameters("dyn Fn(Request) -> Reply + Send"), ["Request", "Reply"]);
        assert_eq!(parameters("bytes::Bytes"), Vec::<String>::new());
    }
}
