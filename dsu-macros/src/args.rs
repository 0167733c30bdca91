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
        let lookahead = input.lookahead1();
        if lookahead.peek(Token![crate]) {
            let keyword: Token![crate] = input.parse()?;
            input.parse::<Token![=]>()?;
            Ok(Arg::Crate(keyword, input.parse()?))
        } else {
            Err(lookahead.error())
        }
    }
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
