//! The attribute's arguments: `#[updateable]` or `#[updateable(crate = path)]`.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Path, Token};

pub(crate) struct Args {
    /// How generated code names the `dsu` crate.
    pub(crate) krate: Path,
}

enum Arg {
    Crate(Token![crate], Path),
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if !input.peek(Token![crate]) {
            return Err(input.error(UNKNOWN));
        }
        let keyword: Token![crate] = input.parse()?;
        if !input.peek(Token![=]) {
            return Err(syn::Error::new(keyword.span, CRATE_WITHOUT_PATH));
        }
        input.parse::<Token![=]>()?;
        Ok(Arg::Crate(keyword, crate_path(input)?))
    }
}

/// The one message for an argument that is not `crate = path`, shared with the derive.
pub(crate) const UNKNOWN: &str = "unknown argument; the only one is `crate = path`";

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

pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Args> {
    let list = Punctuated::<Arg, Token![,]>::parse_terminated.parse2(tokens)?;
    let mut krate = None;
    for arg in list {
        match arg {
            Arg::Crate(keyword, path) => {
                if krate.is_some() {
                    return Err(syn::Error::new(keyword.span, "`crate` is given twice; keep one"));
                }
                krate = Some(path);
            }
        }
    }
    Ok(Args { krate: krate.unwrap_or_else(|| syn::parse_quote!(::dsu)) })
}
