//! The shapes an updateable signature takes in generated code: the function pointer type
//! the slot holds, the types whose fingerprints make the signature's, and the text that names
//! it in reports.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{FnArg, Lifetime, ReturnType, Signature, Type};

/// An updateable signature, with `Self` replaced by the implementing type.
pub(crate) struct Shape {
    /// The parameter types, the receiver's first.
    pub(crate) inputs: Vec<Type>,
    /// The return type (`()` when none is written).
    pub(crate) output: Type,
    /// The types whose fingerprints make up the signature's, see `fingerprinted_types`.
    fingerprinted: Vec<Type>,
    /// `for<'a, ..>` when the function declares lifetimes.
    lifetimes: Vec<Lifetime>,
    unsafety: Option<syn::token::Unsafe>,
}

impl Shape {
    /// The shape of `sig`, a method of `self_ty` if given. `self_fingerprint` stands for `Self`
    /// in the fingerprinted types: a type with the fingerprint of `self_ty`, that reports a
    /// missing `Fingerprint` once for the whole impl block rather than at every receiver.
    pub(crate) fn of(
        sig: &Signature,
        self_ty: Option<&Type>,
        self_fingerprint: Option<&Type>,
    ) -> Shape {
        let written: Vec<Type> = sig
            .inputs
            .iter()
            .map(|input| match input {
                FnArg::Receiver(receiver) => (*receiver.ty).clone(),
                FnArg::Typed(pat) => (*pat.ty).clone(),
            })
            .chain(std::iter::once(match &sig.output {
                ReturnType::Default => syn::parse_quote!(()),
                ReturnType::Type(_, ty) => (**ty).clone(),
            }))
            .collect();
        let replaced = |with: Option<&Type>| -> Vec<Type> {
            written
                .iter()
                .map(|ty| {
                    let mut ty = ty.clone();
                    ReplaceSelf(with).visit_type_mut(&mut ty);
                    ty
                })
                .collect()
        };
        let mut inputs = replaced(self_ty);
        let output = inputs.pop().expect("the return type is always there");
        let mut fingerprinted = replaced(self_fingerprint.or(self_ty));
        for ty in &mut fingerprinted {
            StaticLifetimes.visit_type_mut(ty);
        }
        Shape {
            inputs,
            output,
            fingerprinted,
            lifetimes: sig.generics.lifetimes().map(|l| l.lifetime.clone()).collect(),
            unsafety: sig.unsafety,
        }
    }

    /// `unsafe for<'a> fn(A, B) -> Returned<R>`: the type of the item's bridge, which the slot
    /// holds (see `dsu-rt/src/unwind.rs`).
    pub(crate) fn bridge_pointer(&self, private: &TokenStream) -> TokenStream {
        let Shape { inputs, output, lifetimes, unsafety, .. } = self;
        let binder = (!lifetimes.is_empty()).then(|| quote!(for<#(#lifetimes),*>));
        quote!(#binder #unsafety fn(#(#inputs),*) -> #private::Returned<#output>)
    }

    /// The bridge: `implementation` called with the bridge's arguments under this image's
    /// `catch_unwind`.
    ///
    /// ```ignore
    /// fn __dsu_bridge<'a>(__dsu_arg0: &'a str) -> Returned<&'a str> {
    ///     catch(move || implementation(__dsu_arg0))
    /// }
    /// ```
    pub(crate) fn bridge(
        &self,
        private: &TokenStream,
        implementation: &TokenStream,
    ) -> TokenStream {
        let Shape { inputs, output, lifetimes, unsafety, .. } = self;
        let names: Vec<_> = (0..inputs.len()).map(|i| format_ident!("__dsu_arg{}", i)).collect();
        let call = quote!(#implementation(#(#names),*));
        // SAFETY: the bridge is itself `unsafe fn`, with the implementation's contract.
        let call = if unsafety.is_some() { quote!(unsafe { #call }) } else { call };
        quote! {
            #[allow(clippy::too_many_arguments)]
            #unsafety fn __dsu_bridge<#(#lifetimes),*>(#(#names: #inputs),*) -> #private::Returned<#output> {
                #private::catch(move || #call)
            }
        }
    }

    /// The types whose fingerprints make up the signature's, with every lifetime `'static`
    /// (lifetimes do not change a layout).
    pub(crate) fn fingerprinted_types(&self) -> &[Type] {
        &self.fingerprinted
    }

    /// `fn(&str) -> String`, as reports show it.
    pub(crate) fn text(&self) -> String {
        let Shape { inputs, output, unsafety, .. } = self;
        let text = quote!(#unsafety fn(#(#inputs),*) -> #output).to_string();
        tidy(&text)
    }
}

/// The names the stub gives its parameters, the receiver keeping `self`.
pub(crate) fn argument_names(sig: &Signature) -> Vec<TokenStream> {
    sig.inputs
        .iter()
        .enumerate()
        .map(|(i, input)| match input {
            FnArg::Receiver(_) => quote!(self),
            FnArg::Typed(_) => {
                let name = format_ident!("__dsu_arg{}", i);
                quote!(#name)
            }
        })
        .collect()
}

/// Whether `Self` appears in the signature, a receiver's implicit `Self` included.
pub(crate) fn mentions_self(sig: &Signature) -> bool {
    struct Finder(bool);
    impl Visit<'_> for Finder {
        fn visit_ident(&mut self, ident: &proc_macro2::Ident) {
            self.0 |= ident == "Self";
        }
    }
    let mut finder = Finder(false);
    finder.visit_signature(sig);
    finder.0
}

/// Token text without the spaces `to_string` puts around punctuation.
pub(crate) fn tidy(text: &str) -> String {
    let mut out = text.replace(" -> ", "->");
    for (from, to) in [
        (" ,", ","),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        ("& ", "&"),
        (" (", "("),
        ("( ", "("),
        (" )", ")"),
        (" ::", "::"),
        (":: ", "::"),
        (" [", "["),
        ("[ ", "["),
        (" ]", "]"),
        (" ;", ";"),
        ("' ", "'"),
    ] {
        while out.contains(from) {
            out = out.replace(from, to);
        }
    }
    out.replace("->", " -> ")
}

/// Writes `Self::Item` as `<Type as Trait>::Item` in the types of `sig`: in the hidden trait
/// that carries a trait impl's bodies (see `expand::impl_block`), `Self::Item` would name the
/// hidden trait's items.
pub(crate) fn qualify_associated_types(
    sig: &mut Signature,
    self_ty: &Type,
    trait_path: &syn::Path,
) {
    let mut qualify = QualifyAssociated { self_ty, trait_path };
    for input in &mut sig.inputs {
        if let FnArg::Typed(pat) = input {
            qualify.visit_type_mut(&mut pat.ty);
        }
    }
    if let ReturnType::Type(_, ty) = &mut sig.output {
        qualify.visit_type_mut(ty);
    }
}

struct QualifyAssociated<'a> {
    self_ty: &'a Type,
    trait_path: &'a syn::Path,
}

impl VisitMut for QualifyAssociated<'_> {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::Path(path) = &*ty {
            let segments = &path.path.segments;
            if path.qself.is_none() && segments.len() > 1 && segments[0].ident == "Self" {
                let rest = segments.iter().skip(1);
                let (self_ty, trait_path) = (self.self_ty, self.trait_path);
                *ty = syn::parse_quote!(<#self_ty as #trait_path>#(::#rest)*);
                return;
            }
        }
        syn::visit_mut::visit_type_mut(self, ty);
    }
}

struct ReplaceSelf<'a>(Option<&'a Type>);

impl VisitMut for ReplaceSelf<'_> {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let (Type::Path(path), Some(self_ty)) = (&*ty, self.0) {
            if path.qself.is_none() && path.path.is_ident("Self") {
                *ty = self_ty.clone();
                return;
            }
        }
        syn::visit_mut::visit_type_mut(self, ty);
    }
}

struct StaticLifetimes;

impl VisitMut for StaticLifetimes {
    fn visit_lifetime_mut(&mut self, lifetime: &mut Lifetime) {
        *lifetime = Lifetime::new("'static", Span::call_site());
    }

    fn visit_type_reference_mut(&mut self, reference: &mut syn::TypeReference) {
        reference.lifetime.get_or_insert_with(|| Lifetime::new("'static", Span::call_site()));
        syn::visit_mut::visit_type_reference_mut(self, reference);
    }
}
