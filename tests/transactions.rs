//! Transactions against real updates: an update commits beside a transaction that called
//! nothing it changes, waits for one that did, gives up after its timeout with nothing
//! changed, counts the call of an updateable transaction itself, and is not blocked by a
//! transaction that panicked; a transaction moved to another thread stays in one version.
//!
//! Every test starts and ends at version 1 of `txapp`; they take turns, as they share the
//! process's one program.

use std::sync::{mpsc, MutexGuard};
use std::thread;
use std::time::Duration;

mod support;

/// Takes this test's turn, at version 1.
fn turn() -> MutexGuard<'static, ()> {
    support::turn_at_v1()
}

fn v2() -> std::path::PathBuf {
    support::build("txapp/v2", &[])
}

fn versions() -> [u32; 3] {
    [txapp::a(), txapp::b(), txapp::c()]
}

fn back_to_v1() {
    dsu::rollback().expect("back to v1");
    assert_eq!(versions(), [1, 1, 1]);
}

#[test]
fn an_update_commits_beside_a_transaction_that_called_nothing_it_changes() {
    let _turn = turn();
    let v2 = v2();
    let mut transaction = dsu::Transaction::begin();
    assert_eq!(transaction.run(txapp::steady), 0);

    let report = dsu::update(&v2).expect("v2 applies at once");
    assert!(report.waited_for.is_empty(), "{report}");
    // Everything the transaction ran is the same in v2: it goes on in v2.
    assert_eq!(transaction.run(versions), [2, 2, 2]);
    drop(transaction);
    back_to_v1();
}

#[test]
fn an_update_waits_for_a_transaction_that_called_what_it_changes() {
    let _turn = turn();
    let v2 = v2();
    let mut transaction = dsu::Transaction::begin();
    assert_eq!(transaction.run(txapp::a), 1);

    let updater = thread::spawn(move || {
        dsu::update_with(&v2, &dsu::UpdateOptions::default().timeout(Duration::from_secs(30)))
    });
    // Long enough for the update to load the patch and start waiting.
    thread::sleep(Duration::from_millis(1000));
    assert!(!updater.is_finished(), "the update waits");
    // Calls outside any transaction go on, in v1.
    assert_eq!(versions(), [1, 1, 1]);
    // Asking for the status does not wait for the update, which waits for this very
    // transaction: it answers what runs, v1.
    let status = transaction.run(dsu::status);
    assert_eq!(status.versions.len(), 1, "{status}");
    // The transaction goes on in v1 to its end.
    assert_eq!(transaction.run(versions), [1, 1, 1]);
    drop(transaction);

    let report = updater.join().unwrap().expect("v2 applies once the transaction ended");
    // It waited from its check of the transactions (after loading the patch) to the drop.
    assert!(report.waited > Duration::ZERO, "{report}");
    assert_eq!(report.waited_for.len(), 1, "{report}");
    assert!(report.waited_for[0].contains("tests/transactions.rs"), "{report}");
    assert_eq!(versions(), [2, 2, 2]);
    assert_eq!(dsu::status().versions.len(), 2);
    back_to_v1();
}

#[test]
fn an_update_that_times_out_changes_nothing() {
    let _turn = turn();
    let v2 = v2();
    let before = dsu::status();
    let mut transaction = dsu::Transaction::begin();
    assert_eq!(transaction.run(txapp::b), 1);

    let options = dsu::UpdateOptions::default().timeout(Duration::from_millis(100));
    let error = dsu::update_with(&v2, &options).expect_err("the transaction stays open");
    let dsu::UpdateError::Timeout { waited, transactions } = &error else {
        panic!("a timeout, not {error}");
    };
    assert!(*waited >= Duration::from_millis(100));
    assert_eq!(transactions.len(), 1);
    assert_eq!(error.kind(), "timeout");
    assert!(error.to_string().contains("nothing changed"), "{error}");
    assert_eq!(dsu::status().items, before.items);
    assert_eq!(dsu::status().versions, before.versions);
    assert_eq!(transaction.run(versions), [1, 1, 1]);
    drop(transaction);

    // The same patch applies once the transaction has ended.
    dsu::update(&v2).expect("v2 applies");
    back_to_v1();
}

#[test]
fn an_update_inside_a_transaction_is_refused() {
    let _turn = turn();
    let v2 = v2();
    let before = dsu::status();
    let refused = dsu::transaction(|| dsu::update(&v2));
    assert!(matches!(refused, Err(dsu::UpdateError::InsideTransaction)), "{refused:?}");
    assert!(matches!(dsu::transaction(dsu::rollback), Err(dsu::UpdateError::InsideTransaction)));
    assert_eq!(dsu::status().versions, before.versions);
}

#[test]
fn an_updateable_transaction_counts_its_own_call() {
    let _turn = turn();
    let v2 = v2();
    // `handle` is v1's until it returns: it sees v1's `a` too, although the update changes
    // `a` and `handle` and is applied while `handle` sleeps.
    let handler = thread::spawn(|| txapp::handle(2000));
    thread::sleep(Duration::from_millis(50));
    let options = dsu::UpdateOptions::default().timeout(Duration::from_secs(30));
    let report = dsu::update_with(&v2, &options).expect("v2 applies after handle returns");
    assert_eq!(handler.join().unwrap(), [1, 1]);
    assert_eq!(report.waited_for.len(), 1, "{report}");
    assert!(report.waited_for[0].contains("fixtures/txapp/v1/src/lib.rs"), "{report}");
    assert_eq!(txapp::handle(0), [2, 2]);
    back_to_v1();
}

#[test]
fn a_transaction_that_panicked_does_not_block_updates() {
    let _turn = turn();
    let v2 = v2();
    let panicked = thread::spawn(|| {
        dsu::transaction(|| {
            txapp::a();
            panic!("inside a transaction");
        })
    })
    .join();
    assert!(panicked.is_err());
    let caught = std::panic::catch_unwind(|| {
        dsu::transaction(|| {
            txapp::b();
            panic!("inside a transaction");
        })
    });
    assert!(caught.is_err());

    let options = dsu::UpdateOptions::default().timeout(Duration::from_millis(200));
    let report = dsu::update_with(&v2, &options).expect("nothing is left open");
    assert!(report.waited_for.is_empty(), "{report}");
    back_to_v1();
}

#[test]
fn a_transaction_moved_to_another_thread_stays_in_one_version() {
    let _turn = turn();
    let v2 = v2();
    // The top half runs here.
    let mut transaction = dsu::Transaction::begin();
    let a = transaction.run(txapp::a);

    let options = dsu::UpdateOptions::default().timeout(Duration::from_secs(30));
    let updater = thread::spawn(move || dsu::update_with(&v2, &options));
    // Long enough for the update to load the patch and start waiting.
    thread::sleep(Duration::from_millis(1000));

    // The bottom half runs on a worker, while the update waits.
    let (work, worker_queue) = mpsc::channel::<dsu::Transaction>();
    let worker = thread::spawn(move || {
        let mut transaction = worker_queue.recv().unwrap();
        let rest = transaction.run(|| [txapp::b(), txapp::c()]);
        drop(transaction);
        rest
    });
    work.send(transaction).unwrap();
    assert_eq!((a, worker.join().unwrap()), (1, [1, 1]));
    let report = updater.join().unwrap().expect("v2 applies when the bottom half ended");
    assert_eq!(report.waited_for.len(), 1, "it waited for the moved transaction: {report}");
    assert_eq!(versions(), [2, 2, 2]);
    back_to_v1();
}

#[test]
fn a_transaction_in_patch_code_is_one_of_the_programs() {
    let _turn = turn();
    let v2 = v2();
    let v3 = support::build("txapp/v3", &[]);
    dsu::update(&v2).expect("v2 applies");
    // v2's code enters the transaction, on a thread that never ran one before.
    let first = thread::spawn(|| txapp::from_this_version(0)).join().unwrap();
    assert_eq!(first, (2, [2, 2, 2]));

    // A transaction v2's code runs, seen and waited for by the program's updater.
    let (started, is_started) = mpsc::channel();
    let patch_code = thread::spawn(move || {
        started.send(()).unwrap();
        txapp::from_this_version(1_000_000)
    });
    is_started.recv().unwrap();
    thread::sleep(Duration::from_millis(100));
    let options = dsu::UpdateOptions::default().timeout(Duration::from_secs(30));
    let report = dsu::update_with(&v3, &options).expect("v3 applies");
    assert_eq!(patch_code.join().unwrap(), (2, [2, 2, 2]));
    assert!(
        // The patch was built in its own directory: its `file!()` is relative to it.
        report
            .waited_for
            .iter()
            .any(|origin| origin.starts_with("transaction begun at src/lib.rs")),
        "{report}"
    );
    assert_eq!(txapp::from_this_version(0), (3, [3, 3, 3]));
    dsu::rollback().expect("back to v2");
    back_to_v1();
}

#[test]
fn threads_blocked_outside_transactions_do_not_delay_updates() {
    let _turn = turn();
    let v2 = v2();
    // A worker that ran transactions and now waits for work, outside any.
    let (work, queue) = mpsc::channel::<u64>();
    let worker = thread::spawn(move || {
        let mut seen = Vec::new();
        for pause in queue {
            seen.push(txapp::observe(pause));
        }
        seen
    });
    work.send(0).unwrap();
    thread::sleep(Duration::from_millis(20));

    let options = dsu::UpdateOptions::default().timeout(Duration::from_millis(200));
    let report = dsu::update_with(&v2, &options).expect("nothing open to wait for");
    assert!(report.waited_for.is_empty(), "{report}");
    work.send(0).unwrap();
    drop(work);
    assert_eq!(worker.join().unwrap(), [[1, 1, 1], [2, 2, 2]]);
    back_to_v1();
}

#[test]
fn nested_transactions_are_one() {
    let _turn = turn();
    let v2 = v2();
    let (entered, is_entered) = mpsc::channel();
    let (go_on, wait) = mpsc::channel::<()>();
    let outer = thread::spawn(move || {
        dsu::transaction(|| {
            let a = txapp::a();
            entered.send(()).unwrap();
            wait.recv().unwrap();
            // `observe` is a transaction of its own, nested in this one: still v1.
            (a, txapp::observe(0))
        })
    });
    is_entered.recv().unwrap();
    let options = dsu::UpdateOptions::default().timeout(Duration::from_secs(30));
    let updater = thread::spawn(move || dsu::update_with(&v2, &options));
    // Long enough for the update to load the patch and start waiting.
    thread::sleep(Duration::from_millis(1000));
    go_on.send(()).unwrap();
    assert_eq!(outer.join().unwrap(), (1, [1, 1, 1]));
    let report = updater.join().unwrap().expect("v2 applies after the outer transaction");
    assert_eq!(report.waited_for.len(), 1, "it waited for the outer transaction: {report}");
    assert_eq!(txapp::observe(0), [2, 2, 2]);
    back_to_v1();
}
