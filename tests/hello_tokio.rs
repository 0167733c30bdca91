//! End to end: the hello-tokio example's demo (`examples/hello-tokio/demo.sh`) succeeds. The
//! example is a tokio server set up as `docs/sharing.md` says; the demo builds it with cargo,
//! updates it while a client stays connected, and sees the patch's task, spawned on the
//! program's runtime, log through the program's subscriber.

mod support;

use std::process::Command;

#[test]
fn the_tokio_example_is_updated_as_its_demo_shows() {
    let demo = support::root().join("examples").join("hello-tokio").join("demo.sh");
    let output = Command::new("bash").arg(&demo).output().expect("bash runs the demo");
    let (stdout, stderr) =
        (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the demo failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("server> hello, world, from version 2"), "{stdout}");
    assert!(stdout.contains("greeted by version 2 name=world"), "{stdout}");
}
