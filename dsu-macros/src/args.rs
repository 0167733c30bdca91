//! The arguments of every attribute, through one parser: `crate = path` on each of them (the
//! derive takes it as `#[dsu(crate = path)]`), and on `#[updateable]` also `was = OldType` and
//! `reversible` on a global or a type, `transform = function` on a type, and `skip` on a method
//! of an updateable impl block, and `?Send` on an `async fn` or an impl block of them.
//!
//! Every mistake in the arguments is reported at once, each at its own tokens.

use proc_macro2::{Spacing, Span, TokenStream, TokenTree};
use syn::parse::discouraged::Speculative;
use syn::parse::{ParseStream, Parser};
use syn::{Path, Token, Type};

use crate::errors::Errors;

mod kw {
    syn::custom_keyword!(was);
    syn::custom_keyword!(reversible);
    syn::custom_keyword!(skip);
    syn::custom_keyword!(transform);
}

/// The attribute whose arguments are parsed: each takes its own.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attribute {
    /// `#[updateable]` on an item.
    Updateable,
    /// `#[updateable]` on a method of an updateable impl block.
    Method,
    Transaction,
    Transform,
    /// `#[dsu(..)]` beside `#[derive(Fingerprint)]`.
    Derive,
}

impl Attribute {
    /// Whether the attribute takes the arguments of `#[updateable]`, not only `crate = path`.
    fn takes_updateable_arguments(self) -> bool {
        matches!(self, Attribute::Updateable | Attribute::Method)
    }

    fn unknown(self) -> &'static str {
        match self {
            Attribute::Updateable | Attribute::Method => {
                "unknown argument; the arguments are `crate = path`, `was = OldType` and \
                 `reversible` on a global or a type, `transform = function` on a type, \
                 `?Send` on an `async fn` or an impl block, and `skip` on a method of an \
                 updateable impl block"
            }
            Attribute::Transaction => {
                "unknown argument; the only one of #[dsu::transaction] is `crate = path`"
            }
            Attribute::Transform => {
                "unknown argument; the only one of #[dsu::transform] is `crate = path`"
            }
            Attribute::Derive => "unknown argument; the only one is `crate = path`",
        }
    }
}

pub(crate) struct Args {
    /// How generated code names the `dsu` crate (see `krate.rs`).
    pub(crate) krate: Path,
    /// `was = OldType`: the type a global had in the version this one updates.
    pub(crate) was: Option<(kw::was, Type)>,
    /// `reversible`: a rollback converts the global back (with `was`).
    pub(crate) reversible: Option<kw::reversible>,
    /// `transform = function`: a type's transformer from `was` is the `#[dsu::transform]`
    /// function named, not derived.
    pub(crate) transform: Option<(kw::transform, Path)>,
    /// `skip`: a method of an updateable impl block stays as written.
    pub(crate) skip: Option<kw::skip>,
    /// `?Send`, its two tokens: the futures of the `async fn`s need not be `Send`.
    pub(crate) local: Option<TokenStream>,
}

/// The arguments of `attribute`, or every mistake in them.
pub(crate) fn parse(attribute: Attribute, tokens: TokenStream) -> syn::Result<Args> {
    let mut errors = Errors::default();
    let mut given = Given::default();
    given.parse(attribute, tokens, &mut errors);
    given.finish(attribute, errors)
}

/// What the arguments say even when some of them are wrong, for the code that goes out beside
/// their errors: the crate they name.
pub(crate) fn best_effort(attribute: Attribute, tokens: TokenStream) -> Path {
    let mut given = Given::default();
    given.parse(attribute, tokens, &mut Errors::default());
    given.krate.map_or_else(crate::krate::default, |(_, path)| path)
}

/// The crate the `#[dsu(crate = path)]` attributes of a type name, for its derive (the default
/// if they name none), and every mistake in them.
pub(crate) fn of_derive(attrs: &[syn::Attribute]) -> (Path, Option<syn::Error>) {
    let mut errors = Errors::default();
    let mut given = Given::default();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("dsu")) {
        match attr.meta.require_list() {
            Ok(list) => given.parse(Attribute::Derive, list.tokens.clone(), &mut errors),
            Err(error) => errors.add(error),
        }
    }
    let krate = given.krate.clone().map_or_else(crate::krate::default, |(_, path)| path);
    (krate, given.finish(Attribute::Derive, errors).err())
}

enum Arg {
    Crate(Token![crate], Path),
    Was(kw::was, Type),
    Reversible(kw::reversible),
    Transform(kw::transform, Path),
    Skip(kw::skip),
    /// `?Send`, its two tokens.
    Local(TokenStream),
}

fn arg(attribute: Attribute, input: ParseStream<'_>) -> syn::Result<Arg> {
    let lookahead = input.lookahead1();
    if lookahead.peek(Token![crate]) {
        let keyword: Token![crate] = input.parse()?;
        if !value_follows(input) {
            return Err(syn::Error::new(keyword.span, CRATE_WITHOUT_PATH));
        }
        input.parse::<Token![=]>()?;
        return Ok(Arg::Crate(keyword, crate_path(input)?));
    }
    if !attribute.takes_updateable_arguments() {
        return Err(input.error(attribute.unknown()));
    }
    if lookahead.peek(Token![?]) {
        let question: Token![?] = input.parse()?;
        let send: syn::Ident = input.parse()?;
        if send != "Send" {
            return Err(syn::Error::new(
                send.span(),
                "`?` goes before `Send` only: `?Send` lets the futures of an `async fn` be \
                 `!Send`",
            ));
        }
        return Ok(Arg::Local(quote::quote!(#question #send)));
    }
    if lookahead.peek(kw::was) {
        let keyword: kw::was = input.parse()?;
        if !value_follows(input) {
            return Err(syn::Error::new(
                keyword.span,
                "`was` names the global's type in the running version: write `was = OldType`",
            ));
        }
        input.parse::<Token![=]>()?;
        Ok(Arg::Was(keyword, input.parse()?))
    } else if lookahead.peek(kw::reversible) {
        Ok(Arg::Reversible(input.parse()?))
    } else if lookahead.peek(kw::transform) {
        let keyword: kw::transform = input.parse()?;
        if !value_follows(input) {
            return Err(syn::Error::new(
                keyword.span,
                "`transform` names the `#[dsu::transform]` function that converts the type from \
                 `was`: write `transform = function`",
            ));
        }
        input.parse::<Token![=]>()?;
        Ok(Arg::Transform(keyword, input.parse()?))
    } else if lookahead.peek(kw::skip) {
        Ok(Arg::Skip(input.parse()?))
    } else {
        Err(input.error(attribute.unknown()))
    }
}

/// Whether `= value` follows an argument's keyword. Without it (`was`, `was =`, `was =,`) the
/// error goes at the keyword: syn's own, at the end of the arguments, would cover the whole
/// attribute.
fn value_follows(input: ParseStream<'_>) -> bool {
    let ahead = input.fork();
    ahead.parse::<Token![=]>().is_ok() && !ahead.is_empty() && !ahead.peek(Token![,])
}

/// `crate` alone.
const CRATE_WITHOUT_PATH: &str =
    "`crate` names the path of the dsu crate: write `crate = path`, for instance `crate = ::dsu`";

/// The path after `crate =`, refusing a string with a hint to drop the quotes.
fn crate_path(input: ParseStream<'_>) -> syn::Result<Path> {
    if input.peek(syn::LitStr) {
        let text: syn::LitStr = input.parse()?;
        return Err(syn::Error::new(
            text.span(),
            format!("`crate` takes a path, not a string: write `crate = {}`", text.value()),
        ));
    }
    input.parse()
}

/// Every argument given, the first of each kind.
#[derive(Default)]
struct Given {
    krate: Option<(Token![crate], Path)>,
    was: Option<(kw::was, Type)>,
    reversible: Option<kw::reversible>,
    transform: Option<(kw::transform, Path)>,
    skip: Option<kw::skip>,
    local: Option<TokenStream>,
}

impl Given {
    /// Adds the arguments of one list, `a, b = c, ..`, to those given; a mistake in one of
    /// them goes to `errors` and the parse goes on at the next comma.
    fn parse(&mut self, attribute: Attribute, tokens: TokenStream, errors: &mut Errors) {
        let list = |input: ParseStream<'_>| {
            while !input.is_empty() {
                // On a fork: a mistake is skipped from the argument's start, where the depth
                // of its angle brackets is known.
                let fork = input.fork();
                match arg(attribute, &fork) {
                    Ok(arg) => {
                        input.advance_to(&fork);
                        self.add(arg, errors);
                    }
                    Err(error) => {
                        errors.add(error);
                        skip_to_comma(input)?;
                    }
                }
                if input.is_empty() {
                    break;
                }
                if let Err(error) = input.parse::<Token![,]>() {
                    errors.add(error);
                    skip_to_comma(input)?;
                    input.parse::<Option<Token![,]>>()?;
                }
            }
            Ok(())
        };
        if let Err(error) = list.parse2(tokens) {
            errors.add(error);
        }
    }

    fn add(&mut self, arg: Arg, errors: &mut Errors) {
        let mut once = |taken: bool, span: proc_macro2::Span, name: &str| {
            if taken {
                errors.push_span(span, &format!("`{name}` is given twice; keep one"));
            }
            !taken
        };
        match arg {
            Arg::Crate(keyword, path) => {
                if once(self.krate.is_some(), keyword.span, "crate") {
                    self.krate = Some((keyword, path));
                }
            }
            Arg::Was(keyword, ty) => {
                if once(self.was.is_some(), keyword.span, "was") {
                    self.was = Some((keyword, ty));
                }
            }
            Arg::Reversible(keyword) => {
                if once(self.reversible.is_some(), keyword.span, "reversible") {
                    self.reversible = Some(keyword);
                }
            }
            Arg::Transform(keyword, path) => {
                if once(self.transform.is_some(), keyword.span, "transform") {
                    self.transform = Some((keyword, path));
                }
            }
            Arg::Skip(keyword) => {
                if once(self.skip.is_some(), keyword.span, "skip") {
                    self.skip = Some(keyword);
                }
            }
            Arg::Local(tokens) => {
                let span =
                    tokens.clone().into_iter().next().map_or_else(Span::call_site, |t| t.span());
                if once(self.local.is_some(), span, "?Send") {
                    self.local = Some(tokens);
                }
            }
        }
    }

    /// The arguments, or every mistake: those of the parse and those of arguments that do not
    /// go together.
    fn finish(self, attribute: Attribute, mut errors: Errors) -> syn::Result<Args> {
        let Given { krate, was, reversible, transform, skip, local } = self;
        if let (Some(skip), Attribute::Updateable) = (&skip, attribute) {
            errors.push_span(
                skip.span,
                "`skip` keeps one method of an updateable impl block plain; on an item of its \
                 own, leave the attribute out instead",
            );
        }
        if let (Some(reversible), None) = (&reversible, &was) {
            errors.push_span(
                reversible.span,
                "`reversible` goes with `was = OldType`: a rollback converts the value back to it",
            );
        }
        if let (Some((keyword, _)), None) = (&transform, &was) {
            errors.push_span(
                keyword.span,
                "`transform` goes with `was = OldType`: it names the function that converts \
                 from it",
            );
        }
        let krate = krate.map_or_else(crate::krate::default, |(_, path)| path);
        errors.finish(Args { krate, was, reversible, transform, skip, local })
    }
}

/// Moves past the rest of an argument that could not be parsed, up to the comma before the
/// next one.
fn skip_to_comma(input: ParseStream<'_>) -> syn::Result<()> {
    input.step(|cursor| {
        let mut rest = *cursor;
        // A comma inside `<..>` (`was = Map<K, V>`) is the type's: angle brackets are not
        // groups of their own, so their depth is counted (the `>` of an `->` aside).
        let (mut depth, mut after_dash) = (0usize, false);
        while let Some((tree, next)) = rest.token_tree() {
            if let TokenTree::Punct(punct) = &tree {
                match punct.as_char() {
                    ',' if depth == 0 => break,
                    '<' => depth += 1,
                    '>' if !after_dash => depth = depth.saturating_sub(1),
                    _ => {}
                }
                after_dash = punct.as_char() == '-' && punct.spacing() == Spacing::Joint;
            } else {
                after_dash = false;
            }
            rest = next;
        }
        Ok(((), rest))
    })
}
