//! The attribute's arguments: `#[updateable]`, `#[updateable(crate = path)]`,
//! `#[updateable(was = OldType)]` on a global whose type changed, and `#[updateable(skip)]` on
//! a method of an updateable impl block.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Path, Token};

pub(crate) struct Args {
    /// How generated code names the `dsu` crate.
    pub(crate) krate: Path,
    /// `was = OldType`: the type a global had in the version this one updates.
    pub(crate) was: Option<(syn::Ident, syn::Type)>,
    /// `reversible`: a rollback converts the global back (with `was`).
    pub(crate) reversible: Option<syn::Ident>,
}

enum Arg {
    Crate(Token![crate], Path),
    Skip(syn::Ident),
    Was(syn::Ident, syn::Type),
    Reversible(syn::Ident),
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(syn::Ident) && !input.peek(Token![crate]) {
            let ident: syn::Ident = input.fork().parse()?;
            if ident == "skip" {
                return Ok(Arg::Skip(input.parse()?));
            }
            if ident == "reversible" {
                return Ok(Arg::Reversible(input.parse()?));
            }
            if ident == "was" {
                let ident: syn::Ident = input.parse()?;
                if !input.peek(Token![=]) {
                    return Err(syn::Error::new(
                        ident.span(),
                        "`was` names the global's type in the running version: write \
                         `was = OldType`",
                    ));
                }
                input.parse::<Token![=]>()?;
                return Ok(Arg::Was(ident, input.parse()?));
            }
        }
        if !input.peek(Token![crate]) {
            return Err(input.error(
                "unknown argument; the arguments are `crate = path`, `was = OldType` and \
                 `reversible` on a global or a struct, and `skip` on a method of an updateable \
                 impl block",
            ));
        }
        let keyword: Token![crate] = input.parse()?;
        if !input.peek(Token![=]) {
            return Err(syn::Error::new(keyword.span, CRATE_WITHOUT_PATH));
        }
        input.parse::<Token![=]>()?;
        Ok(Arg::Crate(keyword, crate_path(input)?))
    }
}

/// `crate` alone.
pub(crate) const CRATE_WITHOUT_PATH: &str =
    "`crate` names the path of the dsu crate: write `crate = path`, for instance `crate = ::dsu`";

/// The path after `crate =`, refusing a string with a hint to drop the quotes.
pub(crate) fn crate_path(input: ParseStream<'_>) -> syn::Result<Path> {
    if input.peek(syn::LitStr) {
        let text: syn::LitStr = input.parse()?;
        return Err(syn::Error::new(
            text.span(),
            format!("`crate` takes a path, not a string: write `crate = {}`", text.value()),
        ));
    }
    input.parse()
}

/// The arguments of the attribute on an item.
pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Args> {
    let List { krate, skip, was, reversible } = parse_list(tokens)?;
    if let Some(skip) = skip {
        return Err(syn::Error::new(
            skip.span(),
            "`skip` keeps one method of an updateable impl block plain; on an item of its own, \
             leave the attribute out instead",
        ));
    }
    if let (Some(reversible), None) = (&reversible, &was) {
        return Err(syn::Error::new(
            reversible.span(),
            "`reversible` goes with `was = OldType`: a rollback converts the value back to it",
        ));
    }
    Ok(Args { krate: krate.unwrap_or_else(|| syn::parse_quote!(::dsu)), was, reversible })
}

/// The arguments of an attribute whose only one is `crate = path`: `#[transaction]`,
/// `#[transform]`.
pub(crate) fn parse_crate_only(tokens: TokenStream, attribute: &str) -> syn::Result<Path> {
    let mut krate = None;
    let unknown = format!("unknown argument; the only one of {attribute} is `crate = path`");
    syn::meta::parser(|meta| crate_only(meta, &mut krate, &unknown)).parse2(tokens)?;
    Ok(krate.unwrap_or_else(|| syn::parse_quote!(::dsu)))
}

/// One argument of a list whose only argument is `crate = path`: the derive's and
/// `#[transaction]`'s.
pub(crate) fn crate_only(
    meta: syn::meta::ParseNestedMeta<'_>,
    found: &mut Option<Path>,
    unknown: &str,
) -> syn::Result<()> {
    if !meta.path.is_ident("crate") {
        return Err(meta.error(unknown));
    }
    if found.is_some() {
        return Err(meta.error("`crate` is given twice; keep one"));
    }
    if !meta.input.peek(Token![=]) {
        return Err(meta.error(CRATE_WITHOUT_PATH));
    }
    *found = Some(crate_path(meta.value()?)?);
    Ok(())
}

/// Whether the arguments of the attribute on a method of an updateable impl block say `skip`.
pub(crate) fn is_skip(tokens: TokenStream) -> syn::Result<bool> {
    Ok(parse_list(tokens)?.skip.is_some())
}

/// Every argument given, each at most once.
struct List {
    krate: Option<Path>,
    skip: Option<syn::Ident>,
    was: Option<(syn::Ident, syn::Type)>,
    reversible: Option<syn::Ident>,
}

fn parse_list(tokens: TokenStream) -> syn::Result<List> {
    let list = Punctuated::<Arg, Token![,]>::parse_terminated.parse2(tokens)?;
    let mut given = List { krate: None, skip: None, was: None, reversible: None };
    for arg in list {
        let twice = |span: proc_macro2::Span, name: &str| {
            syn::Error::new(span, format!("`{name}` is given twice; keep one"))
        };
        match arg {
            Arg::Skip(ident) => {
                if given.skip.is_some() {
                    return Err(twice(ident.span(), "skip"));
                }
                given.skip = Some(ident);
            }
            Arg::Crate(keyword, path) => {
                if given.krate.is_some() {
                    return Err(twice(keyword.span, "crate"));
                }
                given.krate = Some(path);
            }
            Arg::Reversible(ident) => {
                if given.reversible.is_some() {
                    return Err(twice(ident.span(), "reversible"));
                }
                given.reversible = Some(ident);
            }
            Arg::Was(ident, ty) => {
                if given.was.is_some() {
                    return Err(twice(ident.span(), "was"));
                }
                given.was = Some((ident, ty));
            }
        }
    }
    Ok(given)
}
