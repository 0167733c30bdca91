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
fn disabled_build_compiles_transactions_and_globals_away() {
    // `txapp` marks functions `#[dsu::transaction]`, above and below `#[dsu::updateable]`;
    // `stateapp` has updateable globals, still reached through `with`.
    for fixture in ["txapp/v2", "stateapp/v2"] {
        let plain = support::build(fixture, &["dsu/disabled"]);
        let bytes = fs::read(&plain).unwrap();
        assert!(!mentions(&bytes, b"__DSU_SLOT") && !mentions(&bytes, b"__DSU_GLOBAL"));
        let error = dsu::update(&plain).expect_err("a disabled build is no patch");
        assert!(matches!(error, dsu::UpdateError::NotAPatch { .. }), "{error:?}");
    }
}
