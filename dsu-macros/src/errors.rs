//! Mistakes collected as they are found, so that the user sees every one of them at once.

use proc_macro2::Span;
use quote::ToTokens;

#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    /// A mistake at the tokens `at`.
    pub(crate) fn push(&mut self, at: &impl ToTokens, message: &str) {
        self.add(syn::Error::new_spanned(at, message));
    }

    /// A mistake at `span`.
    pub(crate) fn push_span(&mut self, span: Span, message: &str) {
        self.add(syn::Error::new(span, message));
    }

    pub(crate) fn add(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// `value`, or every mistake found.
    pub(crate) fn finish<T>(self, value: T) -> syn::Result<T> {
        self.0.map_or(Ok(value), Err)
    }
}
