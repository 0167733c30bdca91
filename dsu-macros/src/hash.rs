//! The body fingerprint: a hash of an item's tokens, so that a change of whitespace or
//! comments is not a change, and any change of code is. 128 bits of SHA-256, as the runtime's
//! fingerprints: no one can write two bodies that share one.

use proc_macro2::TokenStream;
use sha2_const_stable::Sha256;

/// The first 128 bits of the SHA-256 of the token text.
pub(crate) fn of_tokens(tokens: &TokenStream) -> u128 {
    of_bytes(tokens.to_string().as_bytes())
}

/// The first 128 bits of the SHA-256 of `bytes`.
pub(crate) fn of_bytes(bytes: &[u8]) -> u128 {
    let full = Sha256::new().update(bytes).finalize();
    u128::from_le_bytes(full[..16].try_into().expect("a SHA-256 has 32 bytes"))
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;

    use super::of_tokens;

    fn hash(code: &str) -> u128 {
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
