//! What cannot be updateable, refused at the user's mistake with what to do instead. Every
//! problem of an item is reported at once.

use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{FnArg, ReturnType, Signature};

use crate::args::Args;
use crate::errors::Errors;
use crate::model::{Impl, Item};
use crate::signature::mentions_self;

pub(crate) fn check(args: &Args, item: &Item) -> syn::Result<()> {
    let mut errors = Errors::default();
    if let Err(error) = arguments(args, item) {
        errors.add(error);
    }
    match item {
        Item::Fn(function) => {
            signature(&function.sig, &mut errors);
            if let Some(receiver) = function.sig.receiver() {
                errors.push(
                    receiver,
                    "a method is updateable through its impl block: put #[dsu::updateable] on \
                     the `impl` (every method of it becomes updateable), and \
                     #[dsu::updateable(skip)] on the methods to keep plain",
                );
            } else if mentions_self(&function.sig) {
                errors.push(
                    &function.sig,
                    "an associated function is updateable through its impl block: put \
                     #[dsu::updateable] on the `impl`",
                );
            }
        }
        Item::Struct(_) | Item::Enum(_) => {}
        Item::Static(global) => {
            if let syn::StaticMutability::Mut(token) = &global.mutability {
                errors.push(
                    token,
                    "a `static mut` cannot be updateable: every version reaches the one value \
                     through shared references; remove `mut` and give the value interior \
                     mutability (a `Mutex`, atomics)",
                );
            }
        }
        Item::Impl(item @ Impl { block, .. }) => {
            match block.generics.params.first() {
                Some(syn::GenericParam::Lifetime(param)) => errors.push(
                    param,
                    "an impl block with a lifetime parameter cannot be updateable yet: make its \
                     methods updateable free functions that declare the lifetime themselves",
                ),
                Some(param) => errors.push(
                    param,
                    "a generic impl block cannot be updateable: each instantiation is compiled \
                     separately; move the code into a non-generic impl or function",
                ),
                None => {}
            }
            if let Some(clause) = &block.generics.where_clause {
                errors.push(
                    clause,
                    "a where clause is not supported on an updateable impl block; remove it",
                );
            }
            for method in item.updateable() {
                signature(&method.sig, &mut errors);
            }
        }
    }
    errors.finish(())
}

/// `was` on a function or a method.
pub(crate) const WAS_ON_FUNCTION: &str = "`was` names the old type of a global or a struct that \
     changed; it goes on a static or a struct";

/// Arguments that only some items take.
fn arguments(args: &Args, item: &Item) -> syn::Result<()> {
    if let Some(local) = &args.local {
        let has_async = match item {
            Item::Fn(function) => function.sig.asyncness.is_some(),
            Item::Impl(block) => block.updateable().any(|method| method.sig.asyncness.is_some()),
            Item::Static(_) | Item::Struct(_) | Item::Enum(_) => false,
        };
        if !has_async {
            return Err(syn::Error::new_spanned(
                local,
                "`?Send` lets the futures of an `async fn` be `!Send`; it goes on an `async fn`, \
                 or on an impl block with updateable `async fn`s",
            ));
        }
    }
    match (&args.was, item) {
        (Some((was, _)), Item::Fn(_) | Item::Impl(_)) => {
            Err(syn::Error::new(was.span, WAS_ON_FUNCTION))
        }
        (Some(_), Item::Static(_)) if args.transform.is_some() => Err(syn::Error::new(
            args.transform.as_ref().expect("just checked").0.span,
            "`transform` goes on a type: a global's value converts through the `Transform` impls \
             of the types it holds; name the function on the type that changed",
        )),
        (_, Item::Struct(syn::ItemStruct { generics, .. }))
        | (_, Item::Enum(syn::ItemEnum { generics, .. }))
            if !generics.params.is_empty() =>
        {
            Err(syn::Error::new_spanned(
                generics,
                "an updateable type is one type, which state cells hold and updates convert: \
                 give it no generic parameters, or make a non-generic type for each use (a \
                 generic type that changed is converted by a `#[dsu::transform]` for each \
                 instantiation)",
            ))
        }
        (Some(_), Item::Struct(item)) if args.transform.is_none() => match &item.fields {
            syn::Fields::Named(_) => Ok(()),
            fields => Err(syn::Error::new_spanned(
                fields,
                "a transformer is derived field by field, by name: give the struct named \
                 fields, or write a `#[dsu::transform]` and name it, `transform = function`",
            )),
        },
        _ => Ok(()),
    }
}

fn signature(sig: &Signature, errors: &mut Errors) {
    if let Some(token) = &sig.constness {
        errors.push(
            token,
            "a `const fn` cannot be updateable: it may be evaluated at compile time, where no \
             update can reach it; remove `const`, or call it from an updateable function",
        );
    }
    if sig.asyncness.is_some() {
        if let ReturnType::Type(_, ty) = &sig.output {
            let mut borrows = Borrows(None);
            borrows.visit_type(ty);
            if let Some(span) = borrows.0 {
                errors.push_span(
                    span,
                    "an updateable `async fn` cannot return a borrow yet: its future, which \
                     another version's code may make, holds every borrowed parameter for one \
                     lifetime; return an owned value (`String`, `Arc<T>`)",
                );
            }
        }
    }
    if let Some(variadic) = &sig.variadic {
        // Only an `extern` function can be variadic: this one error says it all.
        errors.push(
            variadic,
            "a variadic function cannot be updateable: make the work an updateable Rust function \
             with fixed parameters that the variadic function calls",
        );
    } else if let Some(abi) = &sig.abi {
        errors.push(
            abi,
            "an `extern` function cannot be updateable: its callers outside Rust hold its address; \
             make the body an updateable Rust function that the `extern` function calls",
        );
    }
    for param in &sig.generics.params {
        match param {
            syn::GenericParam::Lifetime(lifetime) if lifetime.bounds.is_empty() => {}
            syn::GenericParam::Lifetime(lifetime) => errors.push(
                lifetime,
                "lifetime bounds are not supported on an updateable function; remove the bound",
            ),
            _ => errors.push(
                param,
                "a generic function cannot be updateable: it is compiled once per use, so there \
                 is no one body to replace; make a non-generic updateable function for each use, \
                 or take `&dyn Trait`",
            ),
        }
    }
    if let Some(clause) = &sig.generics.where_clause {
        errors.push(clause, "a where clause is not supported on an updateable function; remove it");
    }
    let mut impl_trait = ImplTrait(None);
    for input in &sig.inputs {
        if let FnArg::Typed(pat) = input {
            impl_trait.visit_type(&pat.ty);
        }
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        impl_trait.visit_type(ty);
    }
    if let Some(span) = impl_trait.0 {
        errors.push_span(
            span,
            "`impl Trait` cannot appear in an updateable signature: it names a type only the \
             compiler knows; use a concrete type or `Box<dyn Trait>`",
        );
    }
}

/// The first borrow in a type: a lifetime other than `'static`, or a reference without one.
struct Borrows(Option<proc_macro2::Span>);

impl Visit<'_> for Borrows {
    fn visit_type_reference(&mut self, node: &syn::TypeReference) {
        match &node.lifetime {
            None => {
                self.0.get_or_insert(node.span());
            }
            Some(lifetime) => self.visit_lifetime(lifetime),
        }
        self.visit_type(&node.elem);
    }

    fn visit_lifetime(&mut self, node: &syn::Lifetime) {
        if node.ident != "static" {
            self.0.get_or_insert(node.span());
        }
    }
}

/// The first `impl Trait` in what it visits.
pub(crate) struct ImplTrait(pub(crate) Option<proc_macro2::Span>);

impl ImplTrait {
    /// Whether `ty` has an `impl Trait` in it.
    pub(crate) fn in_type(ty: &syn::Type) -> bool {
        let mut found = ImplTrait(None);
        found.visit_type(ty);
        found.0.is_some()
    }
}

impl Visit<'_> for ImplTrait {
    fn visit_type_impl_trait(&mut self, node: &syn::TypeImplTrait) {
        self.0.get_or_insert(node.span());
    }
}
