//! Updateable globals across real updates: the program's instance is the one every version
//! reaches, a global a patch adds is reached by later patches, a patch that changes a global's
//! type without a transformer is refused with nothing changed, and one with a transformer
//! converts the live value, unless the transformer panics, was written for another version, or
//! code compiled for the old type would stay live; a global whose declaration keeps the `was`
//! of an earlier conversion is shared as it is.

use std::sync::atomic::Ordering;

mod support;

#[test]
fn state_outlives_every_update() {
    let v2 = support::build("stateapp/v2", &[]);
    let v3 = support::build("stateapp/v3", &[]);
    let v2_changed = support::build("stateapp/v2", &["changed-type"]);

    assert_eq!(stateapp::serve("a"), 1);
    assert_eq!(stateapp::SERVED.with(|served| served.load(Ordering::Relaxed)), 1);

    let report = dsu::update(&v2).expect("v2 applies");
    let added: Vec<String> = report.added_globals.iter().map(ToString::to_string).collect();
    assert_eq!(added, ["stateapp::LAST Mutex<String>"], "{report}");
    assert_eq!(stateapp::serve("b"), 2, "v2's code counts on the program's counter");
    assert_eq!(stateapp::notes(), ["v1: a", "v2: b"]);

    let report = dsu::update(&v3).expect("v3 applies");
    assert!(report.added_globals.is_empty(), "v2 added `LAST` already: {report}");
    assert_eq!(stateapp::serve("c"), 3);
    // `LAST`, the global v2 added, still holds v2's last note: v3's code reached v2's instance.
    assert_eq!(stateapp::notes(), ["v1: a", "v2: b", "v3: c after b"]);
    // v2's `last`, unchanged in v3, reads the same instance.
    let status = dsu::status();
    let last = status.items.iter().find(|item| item.item.path == "stateapp::last");
    assert_eq!(last.map(|item| item.version), Some(1), "{status}");
    let globals: Vec<(String, u64)> =
        status.globals.iter().map(|global| (global.global.to_string(), global.since)).collect();
    assert_eq!(
        globals,
        [
            ("stateapp::LAST Mutex<String>".to_owned(), 1),
            ("stateapp::NOTES Mutex<Vec<String>>".to_owned(), 0),
            ("stateapp::SERVED AtomicU64".to_owned(), 0),
        ],
        "{status}"
    );

    // A patch whose `SERVED` has another type is refused; nothing changes.
    let before = dsu::status();
    let error = dsu::update(&v2_changed).expect_err("a global changed type");
    let dsu::UpdateError::GlobalTypeChanged { global, running, patch } = &error else {
        panic!("refused for its global, not {error}");
    };
    assert_eq!(
        (global.as_str(), running.as_str(), patch.as_str()),
        ("stateapp::SERVED", "AtomicU64", "AtomicU32")
    );
    assert_eq!(dsu::status().versions, before.versions);
    assert_eq!(stateapp::serve("d"), 4);

    dsu::rollback().expect("back to v2");
    dsu::rollback().expect("back to v1");
    assert_eq!(stateapp::serve("e"), 5, "the count survived both rollbacks");
    assert_eq!(stateapp::notes().last().map(String::as_str), Some("v1: e"));
    assert_eq!(stateapp::SERVED.with(|served| served.load(Ordering::Relaxed)), 5);

    // The rollbacks took back the global v2 added; applying v2 again adds it again.
    let globals = dsu::status().globals;
    assert!(!globals.iter().any(|global| global.global.path == "stateapp::LAST"), "{globals:?}");

    // Forward again, then to v4, which changes the type of `NOTES`.
    let report = dsu::update(&v2).expect("v2 applies again");
    assert_eq!(report.added_globals.len(), 1, "{report}");
    dsu::update(&v3).expect("v3 applies again");
    let v4 = support::build("stateapp/v4", &[]);
    let v4_panicking = support::build("stateapp/v4", &["panicking-transform"]);
    let v4_wrong = support::build("stateapp/v4", &["wrong-old-version"]);
    let v4_stale = support::build("stateapp/v4", &["drops-last"]);
    let notes_before = stateapp::notes();
    let before = dsu::status();
    let refusals = [
        dsu::update(&v4_panicking).expect_err("the transformer panics"),
        dsu::update(&v4_wrong).expect_err("the transformer is for another version"),
        dsu::update(&v4_stale).expect_err("`last` would stay live with the old type"),
    ];
    assert!(
        matches!(&refusals[0], dsu::UpdateError::TransformFailed { global, message }
            if global == "stateapp::NOTES"
                && message.starts_with("cannot convert a note of v2 (at src/lib.rs:")),
        "{}",
        refusals[0]
    );
    assert!(
        matches!(&refusals[1], dsu::UpdateError::TransformerForAnotherVersion { was, .. }
            if was == "Mutex<Vec<u32>>"),
        "{}",
        refusals[1]
    );
    assert!(
        matches!(&refusals[2], dsu::UpdateError::StaleUser { item, .. } if item == "stateapp::last"),
        "{}",
        refusals[2]
    );
    assert_eq!(dsu::status().versions, before.versions, "nothing changed");
    assert_eq!(stateapp::notes(), notes_before, "the running value is whole");

    // A transaction that has read the notes holds the conversion back until it ends.
    let (read, has_read) = std::sync::mpsc::channel();
    let (end, ended) = std::sync::mpsc::channel::<()>();
    let reader = std::thread::spawn(move || {
        dsu::transaction(|| {
            let count = stateapp::count_notes_plainly();
            read.send(()).unwrap();
            ended.recv().unwrap();
            count
        })
    });
    has_read.recv().unwrap();
    let options = dsu::UpdateOptions::default().timeout(std::time::Duration::from_millis(200));
    let error = dsu::update_with(&v4, &options).expect_err("the reader's transaction is open");
    assert!(matches!(error, dsu::UpdateError::Timeout { .. }), "{error}");
    end.send(()).unwrap();
    assert_eq!(reader.join().unwrap(), notes_before.len());

    let report = dsu::update(&v4).expect("v4 converts the notes");
    assert_eq!(report.unchanged, 0, "every item switches to code of the new type: {report}");
    assert_eq!(stateapp::notes(), notes_before, "converted, and shown as before");
    assert_eq!(stateapp::serve("f"), 6);
    assert_eq!(stateapp::notes().last().map(String::as_str), Some("v4: f"));
    let caught = std::panic::catch_unwind(stateapp::count_notes_plainly);
    assert!(caught.is_err(), "plain code of v1 does not read the new type");

    let error = dsu::rollback().expect_err("the notes cannot be converted back");
    assert!(matches!(error, dsu::UpdateError::IrreversibleUpdate { .. }), "{error}");
    assert_eq!(stateapp::serve("g"), 7, "still v4, whole");

    // v5 drops a field of `Note` and adds one; its transformer is derived.
    let v5 = support::build("stateapp/v5", &[]);
    dsu::update(&v5).expect("v5 converts the notes with a derived transformer");
    assert_eq!(stateapp::serve("h"), 8);
    assert_eq!(stateapp::notes(), ["a", "b", "c after b", "d after c", "e", "f", "g", "v5 h"]);

    // v5 is reversible: a rollback converts the notes back to v4's type.
    dsu::rollback().expect("back to v4, notes converted back");
    assert_eq!(stateapp::notes().last().map(String::as_str), Some("v5: v5 h"));
    assert_eq!(stateapp::notes().len(), 8);
    assert_eq!(stateapp::serve("i"), 9);
    assert_eq!(stateapp::notes().last().map(String::as_str), Some("v4: i"));
    let error = dsu::rollback().expect_err("v4 has no way back");
    assert!(matches!(error, dsu::UpdateError::IrreversibleUpdate { .. }), "{error}");

    // v6 converts `LAST`, and its `NOTES`, of v5's type, still names v4's as the one it was
    // converted from: the update shares the notes as they are, and runs no transformer on them.
    dsu::update(&v5).expect("v5 again");
    assert_eq!(stateapp::serve("j"), 10);
    let notes = stateapp::notes();
    assert_eq!(notes.last().map(String::as_str), Some("v5 j"));
    let v6 = support::build("stateapp/v6", &[]);
    let report = dsu::update(&v6).expect("v6 converts the last note and shares the notes");
    let converted: Vec<&str> = report.converted.iter().map(|c| c.global.path.as_str()).collect();
    assert_eq!(converted, ["stateapp::LAST"], "{report}");
    assert_eq!(stateapp::notes(), notes, "the notes as v5 left them");
    assert_eq!(stateapp::serve("k"), 11);
    assert_eq!(stateapp::notes().last().map(String::as_str), Some("v6 k"));
}
