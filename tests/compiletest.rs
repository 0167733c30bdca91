//! The diagnostics of `#[dsu::updateable]` and `#[derive(dsu::Fingerprint)]`, and the code they
//! accept. Each `ui/fail` test makes one mistake and its `.stderr` shows the one error a user
//! sees; each `ui/pass` test compiles and runs.
//!
//! After a deliberate change of a diagnostic: `TRYBUILD=overwrite cargo test --test compiletest`,
//! then read every changed `.stderr`.

#[cfg_attr(miri, ignore)]
#[cfg_attr(feature = "disabled", ignore = "the `disabled` feature compiles the checks away")]
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
