//! The shapes an updateable signature takes in generated code: the function pointer type
//! the slot holds, the types whose fingerprints make the signature's, and the text that names
//! it in reports.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
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
    /// For an `async fn`, whether its futures may be `!Send` (`?Send`).
    pub(crate) asyncness: Option<Future>,
    /// The function's name, where a future that is not `Send` is refused.
    name: syn::Ident,
}

/// How an `async fn`'s future crosses between images.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Future {
    /// `Send`, the default.
    Send,
    /// `?Send`.
    Local,
}

/// The one lifetime of an async bridge's borrowed parameters and of its future.
const BORROW: &str = "'__dsu";

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
            asyncness: sig.asyncness.map(|_| Future::Send),
            name: sig.ident.clone(),
        }
    }

    /// The shape of an `async fn` whose futures need not be `Send`, if `local`.
    pub(crate) fn local(mut self, local: bool) -> Shape {
        if local && self.asyncness.is_some() {
            self.asyncness = Some(Future::Local);
        }
        self
    }

    /// For an `async fn`: the bridge's parameter types, every borrow of one lifetime
    /// (`BORROW`), and the type of the boxed future it returns, whose lifetime that is, or
    /// `'static` when nothing is borrowed. The future holds every parameter, so one lifetime
    /// for all of them is what it can be given; the output borrows nothing (`valid.rs`).
    fn async_parts(&self, private: &TokenStream, future: Future) -> (Vec<Type>, bool, TokenStream) {
        let mut unify = Unify(false);
        let inputs: Vec<Type> = self
            .inputs
            .iter()
            .map(|ty| {
                let mut ty = ty.clone();
                unify.visit_type_mut(&mut ty);
                ty
            })
            .collect();
        let borrowed = unify.0;
        let lifetime = Lifetime::new(if borrowed { BORROW } else { "'static" }, Span::call_site());
        let output = &self.output;
        let boxed = match future {
            Future::Send => quote!(#private::Boxed<#lifetime, #output>),
            Future::Local => quote!(#private::BoxedLocal<#lifetime, #output>),
        };
        (inputs, borrowed, boxed)
    }

    /// `unsafe for<'a> fn(A, B) -> Returned<R>`: the type of the item's bridge, which the slot
    /// holds (see `dsu-rt/src/unwind.rs`).
    pub(crate) fn bridge_pointer(&self, private: &TokenStream) -> TokenStream {
        if let Some(future) = self.asyncness {
            let (inputs, borrowed, boxed) = self.async_parts(private, future);
            let binder = borrowed.then(borrow_binder);
            let unsafety = &self.unsafety;
            return quote!(#binder #unsafety fn(#(#inputs),*) -> #private::Returned<#boxed>);
        }
        let Shape { inputs, output, lifetimes, unsafety, .. } = self;
        let binder = (!lifetimes.is_empty()).then(|| quote!(for<#(#lifetimes),*>));
        quote!(#binder #unsafety fn(#(#inputs),*) -> #private::Returned<#output>)
    }

    /// The bridge: `implementation` called with the bridge's arguments under this image's
    /// `catch_unwind`.
    ///
    /// ```text
    /// fn __dsu_bridge<'a>(__dsu_arg0: &'a str) -> Returned<&'a str> {
    ///     catch(move || implementation(__dsu_arg0))
    /// }
    /// ```
    /// The stale bridge, of the bridge's type: it panics, saying that `path`'s signature changed
    /// under the code that called it (see `ItemDesc::stale`).
    pub(crate) fn stale(&self, private: &TokenStream, path: &TokenStream) -> TokenStream {
        let names: Vec<_> =
            (0..self.inputs.len()).map(|i| format_ident!("__dsu_arg{}", i)).collect();
        if let Some(future) = self.asyncness {
            let (inputs, borrowed, boxed) = self.async_parts(private, future);
            let generics = borrowed.then(borrow_generics);
            let unsafety = &self.unsafety;
            return quote! {
                #[allow(clippy::too_many_arguments, unused_variables)]
                #unsafety fn __dsu_stale #generics(#(#names: #inputs),*) -> #private::Returned<#boxed> {
                    #private::catch(move || -> #boxed { #private::stale_call(#path) })
                }
            };
        }
        let Shape { inputs, output, lifetimes, unsafety, .. } = self;
        quote! {
            #[allow(clippy::too_many_arguments, unused_variables)]
            #unsafety fn __dsu_stale<#(#lifetimes),*>(#(#names: #inputs),*) -> #private::Returned<#output> {
                #private::catch(move || -> #output { #private::stale_call(#path) })
            }
        }
    }

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
        if let Some(future) = self.asyncness {
            let (inputs, borrowed, boxed) = self.async_parts(private, future);
            let generics = borrowed.then(borrow_generics);
            // A future that is not `Send` is refused at the function's name.
            let span = self.name.span();
            let boxing = match future {
                Future::Send => {
                    quote_spanned!(span=> __dsu_alias::__private::boxed(&__DSU_FUTURES, __dsu_future))
                }
                Future::Local => quote!(#private::boxed_local(&__DSU_FUTURES, __dsu_future)),
            };
            return quote! {
                #[allow(clippy::too_many_arguments)]
                #unsafety fn __dsu_bridge #generics(#(#names: #inputs),*) -> #private::Returned<#boxed> {
                    #private::catch(move || {
                        let __dsu_future = #call;
                        #boxing
                    })
                }
            };
        }
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
        let asyncness = match self.asyncness {
            None => quote!(),
            Some(Future::Send) => quote!(async),
            Some(Future::Local) => quote!(async ?Send),
        };
        let text = quote!(#asyncness #unsafety fn(#(#inputs),*) -> #output).to_string();
        tidy(&text).replace("? Send", "?Send")
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

/// Writes `Self` in `ty` as `with`.
pub(crate) fn replace_self(ty: &mut Type, with: &Type) {
    ReplaceSelf(Some(with)).visit_type_mut(ty);
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

fn borrow_binder() -> TokenStream {
    let lifetime = Lifetime::new(BORROW, Span::call_site());
    quote!(for<#lifetime>)
}

fn borrow_generics() -> TokenStream {
    let lifetime = Lifetime::new(BORROW, Span::call_site());
    quote!(<#lifetime>)
}

/// Writes every lifetime but `'static`, and every reference's elided one, as `BORROW`; notes
/// whether there was one.
struct Unify(bool);

impl VisitMut for Unify {
    fn visit_lifetime_mut(&mut self, lifetime: &mut Lifetime) {
        if lifetime.ident != "static" {
            *lifetime = Lifetime::new(BORROW, Span::call_site());
            self.0 = true;
        }
    }

    fn visit_type_reference_mut(&mut self, reference: &mut syn::TypeReference) {
        if reference.lifetime.is_none() {
            reference.lifetime = Some(Lifetime::new(BORROW, Span::call_site()));
            self.0 = true;
        }
        syn::visit_mut::visit_type_reference_mut(self, reference);
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

#[cfg(test)]
mod tests {
    use quote::ToTokens;

    use super::{tidy, Shape};

    fn text(sig: &str, self_ty: Option<&str>) -> String {
        let sig: syn::Signature = syn::parse_str(sig).expect("a signature");
        let self_ty: Option<syn::Type> = self_ty.map(|ty| syn::parse_str(ty).expect("a type"));
        Shape::of(&sig, self_ty.as_ref(), None).text()
    }

    /// Program and patch compare these texts: however a signature is spaced, the text is one.
    #[test]
    fn the_text_of_a_signature_does_not_depend_on_its_spacing() {
        // `tidy` joins `[` to what comes before it, a comma too, and leaves `* const` spaced: the
        // text is as it always was, and both sides of an update make it alike.
        let tidy_text = "fn(&str, Vec<u8>,[u8; 4]) -> Option<(u8, String)>";
        assert_eq!(
            text("fn f(a: &str, b: Vec<u8>, c: [u8; 4]) -> Option<(u8, String)>", None),
            tidy_text
        );
        assert_eq!(
            text("fn f(a:&str,b:Vec < u8 >,c:[ u8 ; 4 ])->Option<( u8 , String )>", None),
            tidy_text
        );
        assert_eq!(text("fn f()", None), "fn() -> ()");
        assert_eq!(text("unsafe fn f(p: *const u8)", None), "unsafe fn(* const u8) -> ()");
    }

    #[test]
    fn the_text_keeps_lifetimes_and_paths() {
        assert_eq!(text("fn f<'a>(a: &'a str) -> &'a str", None), "fn(&'a str) -> &'a str");
        let ty: syn::Type =
            syn::parse_str("std :: collections :: HashMap < String , u64 >").unwrap();
        assert_eq!(
            tidy(&ty.to_token_stream().to_string()),
            "std::collections::HashMap<String, u64>"
        );
    }

    #[test]
    fn self_is_written_as_the_implementing_type() {
        let sig = "fn get(&self, key: &Self, keys: Vec<Self>) -> Option<Self>";
        assert_eq!(text(sig, Some("Table")), "fn(&Table, &Table, Vec<Table>) -> Option<Table>");
        assert_eq!(text("fn take(self) -> u8", Some("Table")), "fn(Table) -> u8");
    }

    /// Lifetimes do not change a layout: the fingerprinted types have them all `'static`, so
    /// that `&'a str` and `&str` fingerprint alike.
    #[test]
    fn fingerprinted_types_have_static_lifetimes() {
        let sig: syn::Signature =
            syn::parse_str("fn f<'a>(a: &'a str, b: &u8) -> Cow<'a, str>").unwrap();
        let shape = Shape::of(&sig, None, None);
        let types: Vec<String> = shape
            .fingerprinted_types()
            .iter()
            .map(|ty| tidy(&ty.to_token_stream().to_string()))
            .collect();
        assert_eq!(types, ["&'static str", "&'static u8", "Cow<'static, str>"]);
    }
}
