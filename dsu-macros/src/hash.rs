//! The body fingerprint: a hash of an item's tokens, so that a change of whitespace or
//! comments is not a change, and any change of code is.

use proc_macro2::TokenStream;

/// FNV-1a of the token text.
pub(crate) fn of_tokens(tokens: &TokenStream) -> u64 {
    tokens.to_string().bytes().fold(0xcbf2_9ce4_8422_2325, |state, byte| {
        (state ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;

    use super::of_tokens;

    fn hash(code: &str) -> u64 {
        of_tokens(&code.parse::<TokenStream>().expect("code that lexes"))
    }

    #[test]
    fn whitespace_and_comments_do_not_change_the_hash() {
        let written = hash("fn next(x: u32) -> u32 { x + 1 }");
        assert_eq!(written, hash("fn next ( x : u32 )\n    -> u32 {\n    x+1\n}"));
        assert_eq!(written, hash("fn next(x: u32) -> u32 { /* one more */ x + 1 } // next"));
    }

    #[test]
    fn a_changed_token_changes_the_hash() {
        let written = hash("fn next(x: u32) -> u32 { x + 1 }");
        assert_ne!(written, hash("fn next(x: u32) -> u32 { x + 2 }"));
        assert_ne!(written, hash("fn next(x: u64) -> u32 { x + 1 }"));
        assert_ne!(written, hash("fn next(y: u32) -> u32 { y + 1 }"));
    }
}
