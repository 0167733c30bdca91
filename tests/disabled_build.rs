//! The `disabled` feature compiles every attribute away: no slots, no registrations, no
//! manifest, so the build is plain code and cannot be applied as a patch, and a program built
//! so refuses every patch.

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

#[test]
fn disabled_program_refuses_every_patch() {
    let program = support::build_program_with("app/v1", &["dsu/disabled"], &[]);
    let patch = support::build("app/v2", &[]);
    let output = std::process::Command::new(&program)
        .args(["update".as_ref(), patch.as_os_str(), "version".as_ref()])
        .output()
        .expect("the program runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("refused disabled: "), "{stdout}");
    assert_eq!(lines[1], "1", "v1 still runs: {stdout}");
}
