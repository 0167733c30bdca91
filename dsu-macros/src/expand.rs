//! The code `#[updateable]` writes: a stub with the item's own signature that calls through
//! the item's slot, the body as this version's implementation, and the item's registration.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, ToTokens};
use syn::{FnArg, ImplItem, ImplItemFn, ItemFn, ItemImpl, Pat, Path, Signature};

use crate::args::Args;
use crate::hash;
use crate::model::{Impl, Item, Member};
use crate::probe::Probes;
use crate::signature::{
    argument_names, mentions_self, qualify_associated_types, tidy, Future, Shape,
};

pub(crate) fn item(args: &Args, item: &Item) -> TokenStream {
    let disabled = cfg!(feature = "disabled");
    match item {
        Item::Fn(function) if disabled => function.to_token_stream(),
        Item::Impl(block) if disabled => block.to_token_stream(),
        Item::Fn(function) => function_item(args, function),
        Item::Impl(block) => impl_block(args, block),
        // Both stay reachable the same way with `disabled`: they expand alike.
        Item::Static(global) => crate::global::expand(
            &args.krate,
            global,
            args.was.as_ref().map(|(_, ty)| ty),
            args.reversible.is_some(),
        ),
        // Types are the same with `disabled`: state cells of them work all the same.
        Item::Struct(item) => {
            crate::state_type::expand(args, &syn::Item::Struct(item.clone()), &item.ident)
        }
        Item::Enum(item) => {
            crate::state_type::expand(args, &syn::Item::Enum(item.clone()), &item.ident)
        }
    }
}

/// On error, the user's item goes out unchanged (but for the `skip` markers of its methods)
/// beside the error, so that one mistake makes one error and the rest of the crate still
/// type-checks.
pub(crate) fn fallback(krate: &Path, original: TokenStream, error: syn::Error) -> TokenStream {
    // A global is declared as one all the same, and a type still gets the fingerprint it would
    // have had, so that their uses still type-check.
    let original = match syn::parse2::<syn::Item>(original.clone()) {
        Ok(syn::Item::Static(global))
            if matches!(global.mutability, syn::StaticMutability::None) =>
        {
            crate::global::declaration(krate, &global)
        }
        Ok(syn::Item::Struct(mut item)) => {
            crate::derived_transform::with_fingerprint(krate, &mut item.attrs);
            item.into_token_stream()
        }
        Ok(syn::Item::Enum(mut item)) => {
            crate::derived_transform::with_fingerprint(krate, &mut item.attrs);
            item.into_token_stream()
        }
        _ => crate::model::without_markers(original),
    };
    beside(original, error)
}

/// The item as the user wrote it, and the error: the fallback of `#[transaction]` and
/// `#[transform]`, which change nothing the rest of the crate relies on.
pub(crate) fn beside(original: TokenStream, error: syn::Error) -> TokenStream {
    let error = error.into_compile_error();
    quote!(#original #error)
}

/// ```text
/// fn name(__dsu_arg0: A) -> R {
///     fn __dsu_impl(a: A) -> R { body }
///     let __dsu_slot = { /* bridge, slot and registration: `registration` */ };
///     /* this image's implementation, or another's through its bridge: `call` */
/// }
/// ```
fn function_item(args: &Args, function: &ItemFn) -> TokenStream {
    let krate = &args.krate;
    let ItemFn { attrs, vis, sig, block } = function;
    let shape = Shape::of(sig, None, None).local(args.local.is_some());
    let name = sig.ident.to_string();
    let path = quote!(::core::concat!(::core::module_path!(), "::", #name));
    let implementation = Signature { ident: format_ident!("__dsu_impl"), ..sig.clone() };
    // Attributes (doc comments) are not code: only the signature and body make the fingerprint.
    let registration = registration(
        krate,
        path,
        &shape,
        quote!(__dsu_impl),
        hash::of_tokens(&quote!(#sig #block)),
    );
    let stub = stub_signature(sig);
    let call = call(sig, registration, quote!(__dsu_impl));
    let inline = inline(attrs);
    quote! {
        #(#attrs)*
        #inline
        #vis #stub {
            #[allow(clippy::too_many_arguments)]
            #implementation #block
            #call
        }
    }
}

/// ```text
/// impl Trait for Type {
///     fn method(&self, __dsu_arg1: A) -> R {
///         let __dsu_slot = { /* registration of `<Type>::__dsu_impl_<trait>_method` */ };
///         /* this image's implementation, or another's through its bridge: `call` */
///     }
/// }
/// trait __DsuImpl_<hash> {
///     fn __dsu_impl_<trait>_method(&self, __dsu_arg1: A) -> R;
/// }
/// impl __DsuImpl_<hash> for Type {
///     fn __dsu_impl_<trait>_method(&self, a: A) -> R { body }
/// }
/// ```
/// For an inherent impl the hidden methods stay in the block itself.
///
/// When a signature mentions `Self` (a receiver does), the block also gets a stand-in for
/// `Self` in the fingerprinted types (see `self_fingerprint`).
fn impl_block(args: &Args, item: &Impl) -> TokenStream {
    let krate = &args.krate;
    let Impl { block, members } = item;
    let self_ty = &*block.self_ty;
    let uses_self = item.updateable().any(|method| mentions_self(&method.sig));
    let stand_in = uses_self.then(|| {
        let name = format_ident!("__DsuSelf_{:x}", hash::of_tokens(&item.to_token_stream()));
        syn::Type::Verbatim(quote!(#name))
    });
    let self_text = tidy(&self_ty.to_token_stream().to_string());
    let trait_part = block.trait_.as_ref().map(|(_, path, _)| {
        let last = path.segments.last().expect("a trait path has a segment");
        (tidy(&last.to_token_stream().to_string()), hash::of_tokens(&path.to_token_stream()))
    });
    // A trait impl's bodies go to a hidden trait of their own, which works for foreign types
    // too (an inherent impl would not).
    let helper = block
        .trait_
        .as_ref()
        .map(|_| format_ident!("__DsuImpl_{:x}", hash::of_tokens(&item.to_token_stream())));
    let mut stubs = Vec::with_capacity(members.len());
    let mut declarations = Vec::new();
    let mut implementations = Vec::new();
    for member in members {
        let method = match member {
            Member::Updateable(method) => method,
            Member::Plain(member) => {
                stubs.push(member.to_token_stream());
                continue;
            }
        };
        let method_name = method.sig.ident.to_string();
        let (path, hidden) = match &trait_part {
            Some((trait_text, trait_hash)) => (
                quote!(
                    ::core::concat!("<", ::core::module_path!(), "::", #self_text, " as ", #trait_text, ">::", #method_name)
                ),
                format_ident!("__dsu_impl_{:x}_{}", trait_hash, method.sig.ident),
            ),
            None => (
                quote!(
                    ::core::concat!(::core::module_path!(), "::", #self_text, "::", #method_name)
                ),
                format_ident!("__dsu_impl_{}", method.sig.ident),
            ),
        };
        // In a trait impl, `Self::Item` is the trait's: qualify it, for the slot's types and
        // for the hidden trait, where `Self::Item` would be the hidden trait's.
        let mut sig = method.sig.clone();
        if let Some((_, trait_path, _)) = &block.trait_ {
            qualify_associated_types(&mut sig, self_ty, trait_path);
        }
        let shape = Shape::of(&sig, Some(self_ty), stand_in.as_ref()).local(args.local.is_some());
        let (trait_path, body) = (block.trait_.as_ref().map(|t| &t.1), &method.block);
        let body_hash = hash::of_tokens(&quote!(#self_ty #trait_path #sig #body));
        let implementation = match &helper {
            Some(helper) => quote!(<#self_ty as #helper>::#hidden),
            None => quote!(<#self_ty>::#hidden),
        };
        let registration = registration(krate, path, &shape, implementation.clone(), body_hash);
        let ImplItemFn { attrs, vis, defaultness, sig: written, .. } = method;
        let stub = stub_signature(written);
        let call = call(written, registration, implementation);
        let inline = inline(attrs);
        stubs.push(quote! {
            #(#attrs)*
            #inline
            #vis #defaultness #stub {
                #call
            }
        });
        let hidden_sig = Signature { ident: hidden, ..sig };
        let declaration = stub_signature(&hidden_sig);
        declarations.push(quote! {
            #[allow(non_snake_case, clippy::too_many_arguments)]
            #declaration;
        });
        implementations.push(quote! {
            #[doc(hidden)]
            #[allow(non_snake_case, clippy::too_many_arguments)]
            #hidden_sig #body
        });
    }
    // The trait's associated types, as the hidden trait's too, so that `Self::Item` in a body
    // means what it meant in the trait impl. (Associated consts and functions need nothing:
    // `Self::NAME` finds the trait's, the hidden trait has none of that name.)
    if let Some((_, trait_path, _)) = &block.trait_ {
        for member in members {
            if let Member::Plain(ImplItem::Type(item)) = member {
                if item.generics.params.is_empty() {
                    let name = &item.ident;
                    declarations.push(quote!(type #name;));
                    implementations.push(quote!(type #name = <#self_ty as #trait_path>::#name;));
                }
            }
        }
    }
    let ItemImpl { attrs, defaultness, unsafety, impl_token, generics, trait_, .. } = block;
    let trait_ = trait_.as_ref().map(|(bang, path, for_token)| quote!(#bang #path #for_token));
    let stand_in = stand_in.map(|stand_in| self_fingerprint(krate, self_ty, &stand_in));
    match helper {
        Some(helper) => quote! {
            #(#attrs)*
            #defaultness #unsafety #impl_token #generics #trait_ #self_ty {
                #(#stubs)*
            }
            #[doc(hidden)]
            #[allow(non_camel_case_types)]
            trait #helper {
                #(#declarations)*
            }
            impl #helper for #self_ty {
                #(#implementations)*
            }
            #stand_in
        },
        None => quote! {
            #(#attrs)*
            #defaultness #unsafety #impl_token #generics #self_ty {
                #(#stubs)*
                #(#implementations)*
            }
            #stand_in
        },
    }
}

/// A type with the fingerprint of the impl block's `Self`, for the fingerprinted types of its
/// signatures:
///
/// ```text
/// struct __DsuSelf_<hash>;
/// unsafe impl Fingerprint for __DsuSelf_<hash> {
///     const SHAPE: Shape = <Type as Fingerprint>::SHAPE;
/// }
/// ```
///
/// `&__DsuSelf_<hash>` has the fingerprint of `&Type`, and a `Type` without `Fingerprint` is
/// one error at the `Type` of `impl Type`, not one at each receiver.
fn self_fingerprint(krate: &Path, self_ty: &syn::Type, stand_in: &syn::Type) -> TokenStream {
    let alias = crate::krate::alias(krate);
    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types, dead_code)]
        struct #stand_in;
        const _: () = {
            #alias
            // SAFETY: the stand-in's shape is that of the type it stands in for.
            unsafe impl __dsu_alias::Fingerprint for #stand_in {
                const SHAPE: __dsu_alias::__private::Shape =
                    <#self_ty as __dsu_alias::Fingerprint>::SHAPE;
            }
        };
    }
}

/// A block that declares the item's bridge (see `Shape::bridge`), its slot, which starts at
/// this image's bridge, and its descriptor in the image's registry, and evaluates to the slot.
///
/// ```text
/// {
///     use dsu as __dsu_alias;
///     fn __dsu_bridge(__dsu_arg0: A) -> Returned<R> { catch(move || implementation(__dsu_arg0)) }
///     static __DSU_SLOT: Slot<fn(A) -> Returned<R>> = Slot::new(__dsu_bridge);
///     #[distributed_slice(ITEMS)]
///     static __DSU_ITEM: ItemDesc = ItemDesc {
///         path, signature_text, body, implementation: __dsu_bridge, slot,
///         // Each type through `Probe` (`probe.rs`): its own shape, or a foreign one.
///         signature: shape(combine(&[FN, Probe::<A>::NODE, ..]), &[Probe::<A>::SHAPE, ..]),
///     };
///     &__DSU_SLOT
/// }
/// ```
///
/// The generated code names the dsu crate only through the `use`: a wrong `crate = path` is
/// one error there, and the rest goes quiet. The block keeps these names out of the user's
/// body.
fn registration(
    krate: &Path,
    path: TokenStream,
    shape: &Shape,
    implementation: TokenStream,
    body: u128,
) -> TokenStream {
    let private = quote!(__dsu_alias::__private);
    let bridge_pointer = shape.bridge_pointer(&private);
    let bridge = shape.bridge(&private, &implementation);
    let stale = shape.stale(&private, &path);
    let text = shape.text();
    let mut probes = Probes::new(private.clone(), None);
    let types = shape.fingerprinted_types();
    let nodes: Vec<TokenStream> = types.iter().map(|ty| probes.node(ty)).collect();
    let shapes: Vec<TokenStream> = types.iter().map(|ty| probes.shape(ty)).collect();
    let probes = probes.items();
    let alias = crate::krate::alias(krate);
    // An `async fn` counts its futures, and its node says whether they are `Send`.
    let (futures, futures_field, kind, value) = match shape.asyncness {
        Some(future) => (
            quote!(static __DSU_FUTURES: #private::InFlight = #private::InFlight::new();),
            quote!(__DSU_FUTURES.as_erased()),
            match future {
                Future::Send => quote!(#private::ASYNC,),
                Future::Local => quote!(#private::ASYNC_LOCAL,),
            },
            quote!((&__DSU_SLOT, &__DSU_FUTURES)),
        ),
        None => (quote!(), quote!(::core::ptr::null()), quote!(), quote!(&__DSU_SLOT)),
    };
    quote! {{
        #alias
        // Through `__dsu_alias`, so that the attributes below are quiet when `krate` is wrong.
        use __dsu_alias::__private::linkme;
        #probes
        #futures
        #bridge
        #stale
        static __DSU_SLOT: #private::Slot<#bridge_pointer> = #private::Slot::new(__dsu_bridge as #bridge_pointer);
        #[linkme::distributed_slice(#private::ITEMS)]
        #[linkme(crate = #private::linkme)]
        static __DSU_ITEM: #private::ItemDesc = #private::ItemDesc {
            path: #private::RStr::from_str(#path),
            signature_text: #private::RStr::from_str(#text),
            signature: #private::shape(
                #private::combine(&[#private::FN, #kind #(#nodes),*]),
                &[#(#shapes),*],
            ),
            body: #private::Hash128::new(#body),
            implementation: __dsu_bridge as #bridge_pointer as *const (),
            slot: __DSU_SLOT.as_erased(),
            stale: __dsu_stale as #bridge_pointer as *const (),
            futures: #futures_field,
        };
        #value
    }}
}

/// The item's signature with every parameter pattern replaced by a plain name, and without
/// the `mut` of `mut self`, which only the body needs.
fn stub_signature(sig: &Signature) -> Signature {
    let mut stub = sig.clone();
    for (i, input) in stub.inputs.iter_mut().enumerate() {
        match input {
            FnArg::Typed(pat) => {
                let name = format_ident!("__dsu_arg{}", i);
                *pat.pat = Pat::Verbatim(quote!(#name));
            }
            FnArg::Receiver(receiver) if receiver.reference.is_none() => {
                receiver.mutability = None;
            }
            FnArg::Receiver(_) => {}
        }
    }
    stub
}

/// Calls this image's implementation directly while the slot holds this image's bridge, and
/// otherwise the other image's bridge, raising its panic again here.
///
/// ```text
/// let __dsu_slot = { /* registration */ };
/// __dsu_slot.note(); // the call counts for the transaction the thread runs in, if any
/// match __dsu_slot.foreign() {
///     None => implementation(__dsu_arg0),
///     Some(__dsu_bridge) => __dsu_slot.finish(__dsu_bridge(__dsu_arg0)),
/// }
/// ```
fn call(sig: &Signature, registration: TokenStream, implementation: TokenStream) -> TokenStream {
    let arguments = argument_names(sig);
    if sig.asyncness.is_some() {
        return call_async(sig, registration, implementation);
    }
    let call = quote! {
        match __dsu_slot.foreign() {
            ::core::option::Option::None => #implementation(#(#arguments),*),
            ::core::option::Option::Some(__dsu_bridge) => {
                __dsu_slot.finish(__dsu_bridge(#(#arguments),*))
            }
        }
    };
    let call = match sig.unsafety {
        // SAFETY: the stub is itself `unsafe fn` with the same contract as the implementation.
        Some(_) => quote!(unsafe { #call }),
        None => call,
    };
    quote! {
        let __dsu_slot = #registration;
        __dsu_slot.note();
        #call
    }
}

/// `call` for an `async fn`, whose stub is an `async fn` too: this image's implementation's
/// future is awaited in place, counted; another image's comes boxed from its bridge, counted
/// there.
///
/// ```text
/// let (__dsu_slot, __dsu_futures) = { /* registration */ };
/// __dsu_slot.note();
/// match __dsu_slot.foreign() {
///     None => {
///         let __dsu_running = __dsu_futures.start();
///         implementation(__dsu_arg0).await
///     }
///     Some(__dsu_bridge) => __dsu_slot.finish_async(__dsu_bridge(__dsu_arg0)).await,
/// }
/// ```
fn call_async(
    sig: &Signature,
    registration: TokenStream,
    implementation: TokenStream,
) -> TokenStream {
    let arguments = argument_names(sig);
    let call = quote! {
        match __dsu_slot.foreign() {
            ::core::option::Option::None => {
                let __dsu_running = __dsu_futures.start();
                #implementation(#(#arguments),*).await
            }
            ::core::option::Option::Some(__dsu_bridge) => {
                __dsu_slot.finish_async(__dsu_bridge(#(#arguments),*)).await
            }
        }
    };
    let call = match sig.unsafety {
        // SAFETY: the stub is itself `unsafe fn` with the same contract as the implementation.
        Some(_) => quote!(unsafe { #call }),
        None => call,
    };
    quote! {
        let (__dsu_slot, __dsu_futures) = #registration;
        __dsu_slot.note();
        #call
    }
}

/// `#[inline]`, unless the user chose how the function is inlined.
fn inline(attrs: &[syn::Attribute]) -> Option<TokenStream> {
    let chosen = attrs.iter().any(|attr| attr.path().is_ident("inline"));
    (!chosen).then(|| quote!(#[inline]))
}
