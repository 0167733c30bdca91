//! What `#[updateable]` can be put on, parsed into a small model that keeps the user's
//! tokens for spans.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::spanned::Spanned;

use crate::args::Attribute;

pub(crate) enum Item {
    /// `fn name(..) { .. }`
    Fn(syn::ItemFn),
    /// `impl Type { .. }` or `impl Trait for Type { .. }`
    Impl(Impl),
    /// `static NAME: T = init;`: a global.
    Static(syn::ItemStatic),
    /// `struct Name { .. }` with `was = OldType`: the transformer from the old version's type.
    Struct(syn::ItemStruct),
    /// `enum Name { .. }` with `was = OldType`: the same.
    Enum(syn::ItemEnum),
}

/// An impl block, its members taken out and sorted into those the attribute makes updateable
/// and those it leaves as written.
pub(crate) struct Impl {
    /// The block without its members: its attributes, generics, trait and type.
    pub(crate) block: syn::ItemImpl,
    /// The members, in the order written, without the `#[updateable(skip)]` markers.
    pub(crate) members: Vec<Member>,
}

pub(crate) enum Member {
    /// A method that becomes updateable.
    Updateable(syn::ImplItemFn),
    /// A method marked `skip`, or a member that is not a method: left as written.
    Plain(syn::ImplItem),
}

impl Impl {
    /// The methods that become updateable.
    pub(crate) fn updateable(&self) -> impl Iterator<Item = &syn::ImplItemFn> {
        self.members.iter().filter_map(|member| match member {
            Member::Updateable(method) => Some(method),
            Member::Plain(_) => None,
        })
    }
}

/// The whole block, as written but for the `skip` markers.
impl ToTokens for Impl {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let mut block = self.block.clone();
        block.items = self.members.iter().map(Member::to_item).collect();
        block.to_tokens(tokens);
    }
}

impl Member {
    fn to_item(&self) -> syn::ImplItem {
        match self {
            Member::Updateable(method) => syn::ImplItem::Fn(method.clone()),
            Member::Plain(item) => item.clone(),
        }
    }
}

pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Item> {
    const TYPE: &str = "is not supported yet: derive `dsu::Fingerprint` for it, and write a \
                        `#[dsu::transform]` when a new version changes it";
    const OTHER: &str = "is not supported; put it on functions, impl blocks and statics";
    match syn::parse2::<syn::Item>(tokens)? {
        syn::Item::Fn(item) => Ok(Item::Fn(item)),
        syn::Item::Impl(mut block) => {
            let members = sort(std::mem::take(&mut block.items))?;
            Ok(Item::Impl(Impl { block, members }))
        }
        syn::Item::Struct(item) => Ok(Item::Struct(item)),
        syn::Item::Enum(item) => Ok(Item::Enum(item)),
        syn::Item::Union(item) => Err(not_here(item.union_token, &item.ident, "a union", TYPE)),
        syn::Item::Static(item) => Ok(Item::Static(item)),
        syn::Item::Trait(item) => Err(not_here(
            item.trait_token,
            &item.ident,
            "a trait",
            "is not supported; put it on the impl blocks that implement the trait",
        )),
        syn::Item::Mod(item) => Err(not_here(
            item.mod_token,
            &item.ident,
            "a module",
            "is not supported; put it on the functions and impl blocks inside the module",
        )),
        // `fn f();`: a method of a trait, or a function of an `extern` block.
        syn::Item::Verbatim(tokens) => match syn::parse2::<syn::ForeignItemFn>(tokens.clone()) {
            Ok(syn::ForeignItemFn { sig: syn::Signature { fn_token, ident, .. }, .. }) => {
                Err(syn::Error::new_spanned(
                    quote!(#fn_token #ident),
                    "#[dsu::updateable] needs a function with a body: a trait method is \
                     updateable through the impl blocks that implement it, and a function of an \
                     `extern` block has no Rust body to replace",
                ))
            }
            Err(_) => Err(anything_else(tokens.span())),
        },
        syn::Item::Const(item) => Err(not_here(item.const_token, &item.ident, "a constant", OTHER)),
        syn::Item::Type(item) => Err(not_here(item.type_token, &item.ident, "a type alias", OTHER)),
        other => Err(anything_else(other.span())),
    }
}

/// Takes the `#[updateable]` attributes off the methods of an impl block, and sorts its
/// members. Every method of an updateable block is updateable, so the only attribute a method
/// may carry is `#[updateable(skip)]`.
fn sort(items: Vec<syn::ImplItem>) -> syn::Result<Vec<Member>> {
    let mut members = Vec::with_capacity(items.len());
    for item in items {
        let syn::ImplItem::Fn(mut method) = item else {
            members.push(Member::Plain(item));
            continue;
        };
        let mut skip = false;
        for marker in take_markers(&mut method.attrs) {
            let skips = match &marker.meta {
                syn::Meta::List(list) => {
                    let args = crate::args::parse(Attribute::Method, list.tokens.clone())?;
                    if let Some((was, _)) = &args.was {
                        return Err(syn::Error::new(was.span, crate::valid::WAS_ON_FUNCTION));
                    }
                    args.skip.is_some()
                }
                _ => false,
            };
            if !skips {
                return Err(syn::Error::new_spanned(
                    marker,
                    "this method is already updateable through its impl block: remove this \
                     attribute, or write #[dsu::updateable(skip)] to keep the method plain",
                ));
            }
            skip = true;
        }
        members.push(match skip {
            true => Member::Plain(syn::ImplItem::Fn(method)),
            false => Member::Updateable(method),
        });
    }
    Ok(members)
}

/// The attributes named `updateable` (`#[updateable]`, `#[dsu::updateable(..)]`), taken out of
/// `attrs`.
fn take_markers(attrs: &mut Vec<syn::Attribute>) -> Vec<syn::Attribute> {
    let (markers, others) = std::mem::take(attrs).into_iter().partition(|attr| {
        attr.path().segments.last().is_some_and(|segment| segment.ident == "updateable")
    });
    *attrs = others;
    markers
}

/// `tokens` with the `#[updateable]` attributes taken off the methods if they are an impl
/// block, so that an item refused with an error does not bring more errors from its methods.
pub(crate) fn without_markers(tokens: TokenStream) -> TokenStream {
    match syn::parse2::<syn::ItemImpl>(tokens.clone()) {
        Ok(mut block) => {
            for member in &mut block.items {
                if let syn::ImplItem::Fn(method) = member {
                    take_markers(&mut method.attrs);
                }
            }
            block.into_token_stream()
        }
        Err(_) => tokens,
    }
}

/// An error on `struct Name`, `trait Name`..: the item's keyword and name.
fn not_here(keyword: impl ToTokens, name: &syn::Ident, what: &str, advice: &str) -> syn::Error {
    syn::Error::new_spanned(
        quote!(#keyword #name),
        format!("#[dsu::updateable] on {what} {advice}"),
    )
}

fn anything_else(span: proc_macro2::Span) -> syn::Error {
    syn::Error::new(span, "#[dsu::updateable] goes on a function, an impl block or a static")
}
