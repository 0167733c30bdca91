//! The code `#[transform]` writes: the function, and the `Transform` impl that calls it.
//!
//! ```text
//! fn entry(old: &v1::Entry) -> Entry { body }
//! const _: () = {
//!     use ::dsu as __dsu_alias;
//!     impl __dsu_alias::Transform<v1::Entry> for Entry {
//!         fn transform(old: &v1::Entry) -> Self { entry(old) }
//!     }
//! };
//! ```
//!
//! The containers' impls in the runtime do the rest: with it, a `Mutex<HashMap<K, Entry>>`
//! converts from a `Mutex<HashMap<K, v1::Entry>>`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::{FnArg, ItemFn, ReturnType, Type};

use crate::args::Attribute;

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> syn::Result<TokenStream> {
    let krate = crate::args::parse(Attribute::Transform, args)?.krate;
    let function = match syn::parse2::<syn::Item>(input.clone()) {
        Ok(syn::Item::Fn(function)) => function,
        Ok(other) => return Err(elsewhere(crate::transaction::head(&other))),
        Err(_) => return Err(elsewhere(input)),
    };
    let (old, new) = types(&function)?;
    let name = &function.sig.ident;
    let body = quote_spanned!(name.span()=> #name(old));
    let alias = crate::krate::alias(&krate);
    Ok(quote! {
        // The signature is dsu's, not the author's choice: `&Vec<T>` is what an old `Vec<T>`
        // is read as.
        #[allow(clippy::ptr_arg)]
        #function
        const _: () = {
            #alias
            impl __dsu_alias::Transform<#old> for #new {
                fn transform(old: &#old) -> Self {
                    __dsu_alias::__private::counted();
                    #body
                }
            }
        };
    })
}

fn elsewhere(at: impl ToTokens) -> syn::Error {
    syn::Error::new_spanned(at, "#[dsu::transform] goes on a function from `&OldType` to `NewType`")
}

/// The old and the new type, or the one error that says what the signature must be.
fn types(function: &ItemFn) -> syn::Result<(&Type, &Type)> {
    const SHAPE: &str = "a transformer takes the old value by reference and returns the new \
                         one: `fn name(old: &OldType) -> NewType`";
    let sig = &function.sig;
    if let Some(token) = &sig.asyncness {
        return Err(syn::Error::new_spanned(
            token,
            "a transformer cannot be `async`: the update calls it while the program waits; \
             remove `async`",
        ));
    }
    if let Some(param) = sig.generics.params.first() {
        return Err(syn::Error::new_spanned(
            param,
            "a transformer cannot be generic: write one for each type that changed",
        ));
    }
    let mut inputs = sig.inputs.iter();
    let (Some(FnArg::Typed(param)), None) = (inputs.next(), inputs.next()) else {
        return Err(if sig.inputs.is_empty() {
            syn::Error::new_spanned(sig, SHAPE)
        } else {
            syn::Error::new_spanned(&sig.inputs, SHAPE)
        });
    };
    let Type::Reference(reference) = &*param.ty else {
        return Err(syn::Error::new_spanned(&param.ty, SHAPE));
    };
    if reference.mutability.is_some() || reference.lifetime.is_some() {
        return Err(syn::Error::new_spanned(&param.ty, SHAPE));
    }
    let ReturnType::Type(_, new) = &sig.output else {
        return Err(syn::Error::new_spanned(sig.to_token_stream(), SHAPE));
    };
    Ok((&reference.elem, new))
}
