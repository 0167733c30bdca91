//! Updateable `async fn`s across a real update, on a tokio runtime with worker threads: a future
//! in flight finishes in the version it started in, while every updateable call it makes after
//! the update reaches the new one; `status()` counts the futures each version still runs; a
//! patch's future that panics in its poll fails its own task only; inherent, trait and `?Send`
//! async fns switch; a patch whose future is no longer `Send` has another signature.

use std::rc::Rc;
use std::time::{Duration, Instant};

use asyncapp::{Greeter, Handle, Latch};

mod support;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap()
}

/// The futures of `asyncapp` items that `version`'s code runs now.
fn running(version: u64) -> Vec<(String, usize)> {
    let status = dsu::status();
    let of_version = status.futures.iter().filter(|f| f.version == version);
    of_version
        .filter(|f| f.item.path.starts_with("asyncapp::"))
        .map(|f| (f.item.path.clone(), f.running))
        .collect()
}

/// Waits until `version`'s code runs exactly `expected` futures of asyncapp's items.
fn wait_for_running(version: u64, expected: &[(&str, usize)]) {
    let expected: Vec<(String, usize)> =
        expected.iter().map(|(path, n)| ((*path).to_owned(), *n)).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while running(version) != expected {
        assert!(Instant::now() < deadline, "{:?} != {expected:?}", running(version));
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_future_in_flight_finishes_in_its_version_and_every_call_after_reaches_the_new_one() {
    let v2 = support::build("asyncapp/v2", &[]);
    let local_tag = support::build("asyncapp/v2", &["local-tag"]);
    let runtime = runtime();

    let greeter = Greeter { name: "ada".to_owned() };
    assert_eq!(runtime.block_on(greeter.greet("bob")), "v1 ada greets bob");
    assert_eq!(runtime.block_on(greeter.handle("ping".into())), "v1 ada handles ping");
    assert_eq!(runtime.block_on(asyncapp::tag(0)), "tag0 v1");

    // Started in v1 and waiting when the update lands.
    let (first, second) = (Latch::default(), Latch::default());
    let old = runtime.spawn(asyncapp::slow(first.clone(), "old"));
    let old_risky = runtime.spawn(asyncapp::risky(second.clone()));
    wait_for_running(0, &[("asyncapp::risky", 1), ("asyncapp::slow", 1)]);
    assert!(running(1).is_empty());

    let report = dsu::update(&v2).expect("v2 applies while two futures of v1 wait");
    let replaced: Vec<&str> = report.replaced.iter().map(|item| item.path.as_str()).collect();
    for item in [
        "asyncapp::slow",
        "asyncapp::tag",
        "asyncapp::local",
        "asyncapp::Greeter::greet",
        "<asyncapp::Greeter as Handle>::handle",
    ] {
        assert!(replaced.contains(&item), "{item} is replaced: {replaced:?}");
    }
    let v2_id = dsu::status().versions.last().unwrap().id;

    // The waiting futures are still v1's.
    wait_for_running(0, &[("asyncapp::risky", 1), ("asyncapp::slow", 1)]);
    // New calls run v2, and a v2 future that waits is counted as v2's.
    let latch = Latch::default();
    let new = runtime.spawn(asyncapp::slow(latch.clone(), "new"));
    wait_for_running(v2_id, &[("asyncapp::slow", 1)]);
    latch.open();
    assert_eq!(
        runtime.block_on(new).unwrap(),
        "slow new v2: started under v2, then v2 and tag2 v2"
    );
    assert_eq!(runtime.block_on(greeter.greet("bob")), "v2 ada greets bob");
    assert_eq!(runtime.block_on(greeter.handle("ping".into())), "v2 ada handles ping");
    let local = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(local.block_on(asyncapp::local(Rc::new(21))), 42, "a ?Send fn switches too");

    // The old future finishes in v1, and what it calls after its wait is v2.
    first.open();
    assert_eq!(
        runtime.block_on(old).unwrap(),
        "slow old v1: started under v1, then v2 and tag1 v2"
    );
    second.open();
    assert_eq!(runtime.block_on(old_risky).unwrap(), 1, "v1's risky finishes as v1's");
    wait_for_running(0, &[]);

    // A v2 future that panics in its poll fails its own task, with its message; the program
    // and the runtime go on.
    let latch = Latch::default();
    let failing = runtime.spawn(asyncapp::risky(latch.clone()));
    wait_for_running(v2_id, &[("asyncapp::risky", 1)]);
    latch.open();
    let error = runtime.block_on(failing).expect_err("v2's risky panics");
    let payload = error.into_panic();
    let message = payload.downcast_ref::<&str>().copied();
    assert_eq!(message, Some("risky v2 fails after its wait"));
    wait_for_running(v2_id, &[]);
    assert_eq!(runtime.block_on(asyncapp::tag(3)), "tag3 v2");

    // Futures that are no longer `Send` are another signature: the running `tag` stays, and
    // code built against it keeps calling it.
    let report = dsu::update(&local_tag).expect("the patch applies");
    let changed: Vec<String> = report.signature_changed.iter().map(|i| i.to_string()).collect();
    assert!(
        changed.contains(&"asyncapp::tag async ?Send fn(u32) -> String".to_owned()),
        "{changed:?}"
    );
    assert_eq!(runtime.block_on(asyncapp::tag(4)), "tag4 v2");
}
