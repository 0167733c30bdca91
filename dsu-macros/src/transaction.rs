//! The code `#[transaction]` writes: the function's body, run inside a transaction.
//!
//! ```text
//! fn handle(&mut self, request: Request) -> Reply {
//!     let __dsu_transaction = { use ::dsu as __dsu_alias; __dsu_alias::__private::enter(Location::caller()) };
//!     { body }
//! }
//! ```
//!
//! The transaction is left when the guard drops: after the body's value is made, on every
//! `return`, `?` and panic.
//!
//! An `async fn`'s body runs as a future whose every poll is part of the transaction:
//!
//! ```text
//! async fn handle(&self, request: Request) -> Reply {
//!     { use ::dsu as __dsu_alias; __dsu_alias::__private::transaction_future_at::<Reply, _>(
//!         Location::caller(), async move { body }) }.await
//! }
//! ```

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::ItemFn;

use crate::args::Attribute;
use crate::valid::ImplTrait;

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> syn::Result<TokenStream> {
    let krate = crate::args::parse(Attribute::Transaction, args)?.krate;
    let mut function = function(input)?;
    check(&function)?;
    if cfg!(feature = "disabled") {
        return Ok(function.into_token_stream());
    }
    // `#[updateable]` below this attribute: let it expand first, so that this transaction
    // wraps the stub and counts the call of the function itself, which an update of the
    // function changes. It copies this attribute onto the stub.
    if let Some(position) = function.attrs.iter().position(is_updateable) {
        let updateable = function.attrs.remove(position);
        let this: syn::Attribute = syn::parse_quote!(#[#krate::transaction(crate = #krate)]);
        function.attrs.insert(0, this);
        function.attrs.insert(0, updateable);
        return Ok(function.into_token_stream());
    }
    let ItemFn { attrs, vis, sig, block } = &function;
    let alias = crate::krate::alias(&krate);
    if sig.asyncness.is_some() {
        // The output is named so that the body's `?` and `return` are checked against it, as
        // in the function; one the body alone says (`impl Trait`) is left to inference.
        let output = match &sig.output {
            syn::ReturnType::Default => quote!(()),
            syn::ReturnType::Type(_, ty) if ImplTrait::in_type(ty) => quote!(_),
            syn::ReturnType::Type(_, ty) => quote!(#ty),
        };
        let future = quote_spanned!(sig.ident.span()=>
            { #alias __dsu_alias::__private::transaction_future_at::<#output, _>(
                ::core::panic::Location::caller(),
                async move #block,
            ) }
        );
        return Ok(quote! {
            #(#attrs)*
            #vis #sig {
                #future.await
            }
        });
    }
    let enter = quote_spanned!(sig.ident.span()=>
        { #alias __dsu_alias::__private::enter(::core::panic::Location::caller()) }
    );
    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            let __dsu_transaction = #enter;
            #block
        }
    })
}

/// The function the attribute is on, or an error that says what it can go on.
fn function(input: TokenStream) -> syn::Result<ItemFn> {
    match syn::parse2::<syn::Item>(input.clone()) {
        Ok(syn::Item::Fn(function)) => Ok(function),
        // `fn f();` in a trait or an `extern` block.
        Ok(syn::Item::Verbatim(tokens)) => match syn::parse2::<syn::ForeignItemFn>(tokens) {
            Ok(declaration) => Err(syn::Error::new_spanned(
                declaration.sig,
                "#[dsu::transaction] needs a function with a body: put it on the impls of a \
                 trait method",
            )),
            Err(_) => Err(elsewhere(input)),
        },
        Ok(other) => Err(elsewhere(head(&other))),
        Err(_) => Err(elsewhere(input)),
    }
}

/// The keyword and name of an item that is not a function, where the error points.
pub(crate) fn head(item: &syn::Item) -> TokenStream {
    fn pair(keyword: &impl ToTokens, name: &syn::Ident) -> TokenStream {
        quote!(#keyword #name)
    }
    match item {
        syn::Item::Struct(item) => pair(&item.struct_token, &item.ident),
        syn::Item::Enum(item) => pair(&item.enum_token, &item.ident),
        syn::Item::Static(item) => pair(&item.static_token, &item.ident),
        syn::Item::Const(item) => pair(&item.const_token, &item.ident),
        syn::Item::Mod(item) => pair(&item.mod_token, &item.ident),
        syn::Item::Trait(item) => pair(&item.trait_token, &item.ident),
        other => {
            let first = other.span();
            quote_spanned!(first=> item)
        }
    }
}

fn elsewhere(at: impl ToTokens) -> syn::Error {
    syn::Error::new_spanned(
        at,
        "#[dsu::transaction] goes on a function or method; for a block of code, call \
         `dsu::transaction(|| ..)`",
    )
}

fn check(function: &ItemFn) -> syn::Result<()> {
    let sig = &function.sig;
    if let Some(token) = &sig.constness {
        return Err(syn::Error::new_spanned(
            token,
            "a `const fn` cannot be a transaction: it may run at compile time; remove `const`",
        ));
    }
    Ok(())
}

fn is_updateable(attr: &syn::Attribute) -> bool {
    attr.path().segments.last().is_some_and(|segment| segment.ident == "updateable")
}
