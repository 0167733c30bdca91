//! A running program updated from v1 to v2 to v3 to v4 and rolled back, with real cdylibs
//! built by cargo: free functions, methods, trait impls, a changed signature, removed and
//! added items, and patch code calling back into the program.

mod support;

#[test]
fn v1_to_v4_and_back() {
    let v2 = support::build("app/v2", &[]);
    let v3 = support::build("app/v3", &[]);
    let v4 = support::build("app/v4", &[]);

    // Version 1, as compiled into this test.
    assert_eq!(app::version(), 1);
    let mut counter = app::Counter::new();
    assert_eq!(counter.bump(), 1);
    assert_eq!(counter.to_string(), "Counter(1)");
    assert_eq!(app::describe(), "v1 describes: hello describe from v1");

    // v2: changed bodies switch, a changed signature is a new item, a removed one stays.
    let report = dsu::update(&v2).expect("v2 applies");
    assert_eq!(report.version.label, "app@2.0.0");
    let names = |items: &[dsu::ItemRef]| items.iter().map(|i| i.path.clone()).collect::<Vec<_>>();
    let mut replaced = names(&report.replaced);
    replaced.sort();
    assert_eq!(
        replaced,
        [
            "<app::Counter as Display>::fmt",
            "app::Counter::bump",
            "app::describe",
            "app::divide",
            "app::greet",
            "app::version"
        ]
    );
    let mut added = names(&report.added);
    added.sort();
    assert_eq!(added, ["app::added_in_v2", "app::scale"]);
    assert_eq!(names(&report.signature_changed), ["app::scale"]);
    assert_eq!(names(&report.removed), ["app::removed_in_v2", "app::scale"]);
    assert_eq!(
        report.unchanged, 5,
        "admin_update, admin_versions, fail, Counter::new, Counter::into_count"
    );

    assert_eq!(app::version(), 2);
    assert_eq!(counter.bump(), 11, "the same value, now changed by v2's method");
    assert_eq!(counter.to_string(), "Counter v2 at 11");
    assert_eq!(app::greet("x"), "hi x from v2");
    assert_eq!(app::describe(), "v2 describes: added in v2, greeting: hi added from v2");
    assert_eq!(app::scale(5), 10, "callers of the old signature keep the old item");
    assert_eq!(app::removed_in_v2(), "still here");

    // v3 replaces what v2 introduced, and v2's code calls v3's.
    let report = dsu::update(&v3).expect("v3 applies");
    assert_eq!(names(&report.replaced).len(), 4, "version, greet, added_in_v2, divide: {report}");
    assert_eq!(app::version(), 3);
    assert_eq!(
        app::describe(),
        "v2 describes: added in v2, changed in v3, greeting: hey added from v3",
        "describe runs v2's body, which calls v3's added_in_v2 and greet"
    );

    // v4 is applied by patch code: admin_update runs v2's body (unchanged since v2).
    assert_eq!(app::admin_update(v4.to_str().unwrap()), Ok("app@4.0.0".to_owned()));
    assert_eq!(app::version(), 4);
    assert_eq!(app::admin_versions(), ["app@1.0.0", "app@2.0.0", "app@3.0.0", "app@4.0.0"]);

    let status = dsu::status();
    let version_of =
        |path: &str| status.items.iter().find(|i| i.item.path == path).map(|i| i.version);
    // Versions are numbered in the order applied: app@2.0.0 is #1.
    assert_eq!(version_of("app::version"), Some(3));
    assert_eq!(version_of("app::greet"), Some(2));
    assert_eq!(version_of("app::describe"), Some(1));
    assert_eq!(version_of("app::Counter::new"), Some(0));

    // Roll back, one version at a time, to the program as started.
    let report = dsu::rollback().expect("back to v3");
    assert_eq!(report.version.label, "app@3.0.0");
    assert_eq!(app::version(), 3);
    dsu::rollback().expect("back to v2");
    assert_eq!(app::version(), 2);
    assert_eq!(app::describe(), "v2 describes: added in v2, greeting: hi added from v2");
    let report = dsu::rollback().expect("back to v1");
    assert_eq!(names(&report.removed).len(), 2, "v2's additions are gone: {report}");
    assert_eq!(app::version(), 1);
    assert_eq!(counter.bump(), 12);
    assert_eq!(counter.to_string(), "Counter(12)");
    assert_eq!(app::describe(), "v1 describes: hello describe from v1");
    assert!(matches!(dsu::rollback(), Err(dsu::UpdateError::NothingToRollBack)));
    assert_eq!(dsu::status().versions.len(), 1);

    // A rolled-back patch can be applied again: it loads from a fresh copy.
    dsu::update(&v2).expect("v2 applies again");
    assert_eq!(app::version(), 2);
    assert_eq!(app::describe(), "v2 describes: added in v2, greeting: hi added from v2");
}
