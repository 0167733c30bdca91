//! The body fingerprint: a hash of an item's tokens, so that a change of whitespace or
//! comments is not a change, and any change of code is.

use proc_macro2::TokenStream;

/// FNV-1a of the token text.
pub(crate) fn of_tokens(tokens: &TokenStream) -> u64 {
    tokens.to_string().bytes().fold(0xcbf2_9ce4_8422_2325, |state, byte| {
        (state ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
