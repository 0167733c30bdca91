//! Version consistency under load: observer threads run transactions that call three
//! updateable items, each of which says its version, some in one piece and some moved
//! between threads, while another thread applies updates and rollbacks in a loop. No
//! transaction may see two versions. Bounded: a fixed number of updates.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

mod support;

/// Updates and rollbacks the updater makes: v2, v3, back to v2, back to v1, this many times.
const ROUNDS: usize = 4;

#[test]
fn no_transaction_sees_two_versions() {
    let v2 = support::build("txapp/v2", &[]);
    let v3 = support::build("txapp/v3", &[]);
    let stop = Arc::new(AtomicBool::new(false));
    let observed = Arc::new(AtomicU64::new(0));
    let seen_versions = Arc::new([const { AtomicU64::new(0) }; 4]);

    // Transactions in one piece, some pausing between their calls.
    let mut observers = Vec::new();
    for pause_us in [0, 0, 50, 200] {
        let (stop, observed, seen) = (stop.clone(), observed.clone(), seen_versions.clone());
        observers.push(thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let [a, b, c] = txapp::observe(pause_us);
                assert!(a == b && b == c, "one transaction saw versions {a}, {b} and {c}");
                seen[a as usize].fetch_add(1, Ordering::Relaxed);
                observed.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    // Transactions begun on one thread and finished on another.
    let (hand_over, worker_queue) = mpsc::sync_channel::<(dsu::Transaction, u32)>(8);
    let worker = {
        let observed = observed.clone();
        thread::spawn(move || {
            for (mut transaction, a) in worker_queue {
                let [b, c] = transaction.run(|| [txapp::b(), txapp::c()]);
                drop(transaction);
                assert!(a == b && b == c, "a moved transaction saw versions {a}, {b} and {c}");
                observed.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let top_half = {
        let stop = stop.clone();
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let mut transaction = dsu::Transaction::begin();
                let a = transaction.run(txapp::a);
                hand_over.send((transaction, a)).unwrap();
            }
        })
    };

    let options = dsu::UpdateOptions::default().timeout(Duration::from_secs(30));
    let mut waited = Duration::ZERO;
    for _ in 0..ROUNDS {
        for report in [
            dsu::update_with(&v2, &options),
            dsu::update_with(&v3, &options),
            dsu::rollback_with(&options),
            dsu::rollback_with(&options),
        ] {
            let report = report.expect("no update starves: the gate holds new transactions");
            waited += report.waited;
            thread::sleep(Duration::from_millis(20));
        }
    }
    stop.store(true, Ordering::Relaxed);
    top_half.join().expect("the top halves never saw two versions");
    worker.join().expect("the moved transactions never saw two versions");
    for observer in observers {
        observer.join().expect("the transactions never saw two versions");
    }

    let seen: Vec<u64> = seen_versions.iter().map(|count| count.load(Ordering::Relaxed)).collect();
    println!(
        "{} transactions, by version seen {:?}, {:?} waited by {} updates",
        observed.load(Ordering::Relaxed),
        &seen[1..],
        waited,
        ROUNDS * 4
    );
    assert!(seen[1] > 0 && seen[2] > 0, "transactions ran in v1 and v2: {seen:?}");
    assert_eq!([txapp::a(), txapp::b(), txapp::c()], [1, 1, 1]);
}
