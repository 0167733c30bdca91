//! Updates and rollbacks from several threads while other threads keep calling: the updates
//! run one after another, the calls never stop, and every call runs one version's body.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

#[test]
fn calls_go_on_while_updates_serialise() {
    let patches = [support::build("app/v2", &[]), support::build("app/v3", &[])];
    let done = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));

    let callers: Vec<_> = (0..3)
        .map(|_| {
            let (done, calls) = (done.clone(), calls.clone());
            thread::spawn(move || {
                let mut counter = app::Counter::new();
                let mut seen = [false; 4];
                while !done.load(Ordering::Relaxed) {
                    let version = app::version();
                    assert!((1..=3).contains(&version), "no such version: {version}");
                    seen[version as usize] = true;
                    let greeting = app::greet("t");
                    assert!(
                        ["hello t from v1", "hi t from v2", "hey t from v3"]
                            .contains(&greeting.as_str()),
                        "a call mixed versions: {greeting}"
                    );
                    let before = counter.count;
                    let after = counter.bump();
                    assert!(after == before + 1 || after == before + 10, "{before} -> {after}");
                    calls.fetch_add(1, Ordering::Relaxed);
                }
                seen
            })
        })
        .collect();

    let updaters: Vec<_> = (0..2)
        .map(|id| {
            let patches = patches.clone();
            thread::spawn(move || {
                let mut applied = 0;
                // The other updater's update may take longer than the default second on a
                // loaded machine: waiting for it is the serialised outcome this test is after.
                let mut options = dsu::UpdateOptions::default();
                options.timeout = Duration::from_secs(60);
                for round in 0..8 {
                    let patch = &patches[(round + id) % 2];
                    // Another updater may have applied this very file already: then it is
                    // refused, which is the serialised outcome.
                    match dsu::update_with(patch, &options) {
                        Ok(_) => applied += 1,
                        Err(dsu::UpdateError::AlreadyApplied { .. }) => {}
                        Err(other) => panic!("unexpected: {other}"),
                    }
                    match dsu::rollback_with(&options) {
                        Ok(_) | Err(dsu::UpdateError::NothingToRollBack) => {}
                        Err(other) => panic!("unexpected: {other}"),
                    }
                }
                applied
            })
        })
        .collect();

    let applied: usize = updaters.into_iter().map(|u| u.join().expect("updater")).sum();
    let calls_during_updates = calls.load(Ordering::Relaxed);
    done.store(true, Ordering::Relaxed);
    for caller in callers {
        caller.join().expect("no call saw a broken version");
    }
    assert!(applied >= 8, "updates were applied ({applied})");
    assert!(calls_during_updates > 0, "calls ran while updating");

    // The registry and the code agree at the end.
    let status = dsu::status();
    let running = status.versions.last().unwrap();
    let expected = match running.label.as_str() {
        "app@1.0.0" => 1,
        "app@2.0.0" => 2,
        "app@3.0.0" => 3,
        other => panic!("unexpected version {other}"),
    };
    assert_eq!(app::version(), expected);
    while dsu::rollback().is_ok() {}
    assert_eq!(app::version(), 1);
}
