//! The `disabled` feature compiles every attribute away: no slots, no registrations, no
//! manifest, so the build is plain code and cannot be applied as a patch.

mod support;

use std::fs;

fn mentions(bytes: &[u8], needle: &[u8]) -> bool {
    bytes.windows(needle.len()).any(|window| window == needle)
}

#[test]
fn disabled_build_is_plain_code() {
    let normal = support::build("app/v2", &[]);
    let plain = support::build("app/v2", &["dsu/disabled"]);
    assert!(mentions(&fs::read(&normal).unwrap(), b"__DSU_SLOT"), "a normal build has slots");
    assert!(!mentions(&fs::read(&plain).unwrap(), b"__DSU_SLOT"), "a disabled build has none");
    let error = dsu::update(&plain).expect_err("a disabled build is no patch");
    assert!(matches!(error, dsu::UpdateError::NotAPatch { .. }), "{error:?}");
    assert_eq!(app::version(), 1);
}

#[test]
fn disabled_build_compiles_transactions_away() {
    // `txapp` marks functions `#[dsu::transaction]`, above and below `#[dsu::updateable]`.
    let plain = support::build("txapp/v2", &["dsu/disabled"]);
    assert!(!mentions(&fs::read(&plain).unwrap(), b"__DSU_SLOT"));
    let error = dsu::update(&plain).expect_err("a disabled build is no patch");
    assert!(matches!(error, dsu::UpdateError::NotAPatch { .. }), "{error:?}");
}
