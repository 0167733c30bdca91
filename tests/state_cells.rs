//! State cells across real updates: state held in `Arc`s that threads share, in the maps of two
//! servers of one process, and on the frame of a loop that never returns, converted at one
//! commit while the threads and the loop run; a conversion that panics on one cell of ten
//! thousand, which leaves every cell as it was; a cell made by code of the old version after
//! the update, born converted; a rollback that converts every cell back, and one that is
//! refused because a type has no way back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;

use dsu::UpdateError;

mod support;

/// How many sessions the first server opens.
const SESSIONS: u64 = 10_000;

fn cells(status: &dsu::Status) -> Vec<(String, u64, usize)> {
    let of = status.cells.iter().map(|c| (c.type_name.clone(), c.version, c.cells));
    of.filter(|(name, _, _)| name.starts_with("cellapp::")).collect()
}

#[test]
fn every_cell_converts_wherever_it_lives() {
    let v2 = support::build("cellapp/v2", &[]);
    let v2_refusing = support::build("cellapp/v2", &["refuse-one"]);
    let v3 = support::build("cellapp/v3", &[]);

    // Two servers, each with its own sessions.
    let (a, b) = (cellapp::server("a"), cellapp::server("b"));
    for id in 0..SESSIONS {
        cellapp::open(&a, id, &format!("user-{id}"));
    }
    cellapp::open(&b, 1, "ada");
    assert_eq!(cellapp::line(&a, 4999, "hi").as_deref(), Some("v1 user-4999 #1: hi on a"));
    assert_eq!(cellapp::line(&b, 1, "hi").as_deref(), Some("v1 ada #1: hi on b"));

    // A counter four threads share, hitting it all along.
    let counter = cellapp::counter();
    let stop = Arc::new(AtomicBool::new(false));
    let hitters: Vec<_> = (0..4)
        .map(|_| {
            let (counter, stop) = (Arc::clone(&counter), Arc::clone(&stop));
            thread::spawn(move || {
                let (mut hits, mut versions) = (0u64, Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    // Each hit a transaction, as a request is: it runs in one version.
                    let (_, version) = dsu::transaction(|| cellapp::hit(&counter));
                    hits += 1;
                    if versions.last() != Some(&version) {
                        versions.push(version);
                    }
                }
                (hits, versions)
            })
        })
        .collect();

    // A loop whose state is on its frame.
    let (requests, turns) = mpsc::channel::<String>();
    let (replies, answers) = mpsc::channel();
    let looping = thread::spawn(move || cellapp::serve_turns(turns, replies));
    let turn = |request: &str| {
        requests.send(request.to_owned()).unwrap();
        answers.recv().unwrap()
    };
    assert_eq!(turn("one"), "v1 turn 1: one");

    let status = dsu::status();
    let total = usize::try_from(SESSIONS).unwrap() + 1;
    assert_eq!(
        cells(&status),
        [
            ("cellapp::Counter".to_owned(), 0, 1),
            ("cellapp::Session".to_owned(), 0, total),
            ("cellapp::Turns".to_owned(), 0, 1)
        ],
        "{status}"
    );

    // `open_here` is plain code of v1 that goes on running after the update: accepted, so that
    // it makes a session of v1's type after the commit.
    let accepting = dsu::UpdateOptions::default().accept_unreached(true);

    // A transformer that panics on one session of all: nothing changes, no cell, no code.
    let error =
        dsu::update_with(&v2_refusing, &accepting).expect_err("one session cannot be converted");
    let UpdateError::StateTransformFailed { type_name, cell, cells: of, message } = &error else {
        panic!("refused for a cell, not {error}");
    };
    assert_eq!((type_name.as_str(), *of), ("cellapp::Session", total), "{error}");
    assert!(*cell >= 1 && *cell <= total, "{error}");
    assert!(message.contains("the session of user-4999 cannot be converted"), "{error}");
    assert!(error.to_string().contains("nothing changed"), "{error}");
    assert_eq!(dsu::status().versions.len(), 1, "still the program");
    assert_eq!(cellapp::line(&a, 4999, "again").as_deref(), Some("v1 user-4999 #2: again on a"));
    assert_eq!(cellapp::line(&a, 0, "hi").as_deref(), Some("v1 user-0 #1: hi on a"));
    assert_eq!(turn("two"), "v1 turn 2: two");
    assert_eq!(cells(&dsu::status()), cells(&status), "the same cells, of the same types");

    // The conversion, while the threads hit the counter and the loop waits for its next turn.
    let report = dsu::update_with(&v2, &accepting).expect("v2 converts every cell");
    let unreached: Vec<&str> = report.unreached.iter().map(|u| u.item.as_str()).collect();
    assert_eq!(unreached, ["cellapp::open_here"], "{report}");
    let mut converted: Vec<(&str, &str, usize)> = report
        .converted_cells
        .iter()
        .map(|c| (c.type_name.as_str(), c.from.as_str(), c.cells))
        .collect();
    converted.sort_unstable();
    assert_eq!(
        converted,
        [
            ("cellapp::Counter", "v1::Counter", 1),
            ("cellapp::Session", "v1::Session", total),
            ("cellapp::Turns", "v1::Turns", 1)
        ],
        "{report}"
    );
    let sessions = report.converted_cells.iter().find(|c| c.type_name == "cellapp::Session");
    assert_eq!(sessions.map(|c| c.values), Some(total as u64), "one value per transformer call");

    // The servers' sessions are v2's, each server's own, with their lines kept.
    assert_eq!(
        cellapp::line(&a, 4999, "later").as_deref(),
        Some("v2 user-4999 #3: later on a after (none)")
    );
    assert_eq!(
        cellapp::line(&a, 4999, "then").as_deref(),
        Some("v2 user-4999 #4: then on a after later")
    );
    assert_eq!(cellapp::line(&b, 1, "yo").as_deref(), Some("v2 ada #2: yo on b after (none)"));
    assert_eq!(cellapp::line(&b, 4999, "no"), None, "b has none of a's sessions");
    // The loop's next turn runs v2's code on its converted state.
    assert_eq!(turn("three"), "v2 turn 3: three after \"\"");
    assert_eq!(turn("four"), "v2 turn 4: four after \"three\"");
    // A session made by code of the running version's build, which no update switched: born
    // converted.
    cellapp::open_here(&a, SESSIONS, "late");
    assert_eq!(
        cellapp::line(&a, SESSIONS, "hi").as_deref(),
        Some("v2 late #1: hi on a after (none)")
    );
    // Closing a session drops its cell.
    assert!(cellapp::close(&a, 0));
    let status = dsu::status();
    assert_eq!(
        cells(&status),
        [
            ("cellapp::Counter".to_owned(), 1, 1),
            ("cellapp::Session".to_owned(), 1, total),
            ("cellapp::Turns".to_owned(), 1, 1)
        ],
        "{status}"
    );

    // No hit was lost, and every thread went from v1's code to v2's.
    stop.store(true, Ordering::Relaxed);
    let mut counted = 1;
    for hitter in hitters {
        let (hits, versions) = hitter.join().expect("a hitter never panics");
        assert_eq!(versions.first().map(String::as_str), Some("v1"));
        assert_eq!(versions.last().map(String::as_str), Some("v2 since v1"), "{versions:?}");
        counted += hits;
    }
    let (hits, since) = cellapp::hit(&counter);
    assert_eq!((hits, since.as_str()), (counted, "v2 since v1"), "every hit counted once");

    // v3 changes the loop's state with no way back: its rollback is refused, nothing changes.
    dsu::update(&v3).expect("v3 converts the loop's state");
    assert_eq!(turn("five"), "v3 turn 5: five, longest 4");
    let error = dsu::rollback().expect_err("the loop's state cannot go back");
    let UpdateError::IrreversibleUpdate { globals } = &error else {
        panic!("refused for its conversion, not {error}");
    };
    assert_eq!(globals, &["cellapp::Turns"]);
    assert_eq!(turn("six"), "v3 turn 6: six, longest 4");
    assert_eq!(cellapp::line(&b, 1, "v3").as_deref(), Some("v3 ada #3: v3 on b after yo"));

    // Dropped with the loop, the cell leaves nothing to convert back: the rollback goes on.
    drop(requests);
    looping.join().expect("the loop ends with its requests");
    dsu::rollback().expect("back to v2");

    // Back to v1: every cell converts back, with what v2 counted kept.
    let report = dsu::rollback().expect("back to v1");
    let mut back: Vec<(&str, usize)> =
        report.converted_cells.iter().map(|c| (c.type_name.as_str(), c.cells)).collect();
    back.sort_unstable();
    assert_eq!(
        back,
        [("cellapp::Counter", 1), ("cellapp::Session", total), ("cellapp::Turns", 0)],
        "{report}"
    );
    assert_eq!(cellapp::line(&a, 4999, "back").as_deref(), Some("v1 user-4999 #5: back on a"));
    assert_eq!(cellapp::hit(&counter), (hits + 1, "v1".to_owned()));
    let status = dsu::status();
    assert_eq!(
        cells(&status),
        [("cellapp::Counter".to_owned(), 0, 1), ("cellapp::Session".to_owned(), 0, total)],
        "{status}"
    );
}
