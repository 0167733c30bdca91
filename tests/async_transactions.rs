//! Async transactions against real updates, on tokio: an update never splits a transaction
//! across its `.await`s on a runtime with worker threads; it waits for a transaction that
//! called what it changes and commits after it, while a transaction begun meanwhile waits at
//! its first poll and runs in the new version; a runtime with one worker goes on serving while
//! an update waits; and an updateable async transaction counts its own call. Updates are asked
//! for from async code as the docs say, on tokio's blocking pool.
//!
//! Every test starts and ends at version 1 of `asyncapp`; they take turns, as they share the
//! process's one program.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, MutexGuard};
use std::task::{Context, Wake, Waker};
use std::time::{Duration, Instant};

use asyncapp::Latch;

mod support;

/// Takes this test's turn, at version 1.
fn turn() -> MutexGuard<'static, ()> {
    support::turn_at_v1()
}

fn v2() -> PathBuf {
    support::build("asyncapp/v2", &[])
}

fn runtime(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_time()
        .build()
        .unwrap()
}

/// Updates to `patch` from async code: on tokio's blocking pool, so that no worker waits for
/// the transactions the update waits for.
async fn update(patch: PathBuf) -> Result<dsu::UpdateReport, dsu::UpdateError> {
    let options = dsu::UpdateOptions::default().timeout(Duration::from_secs(60));
    tokio::task::spawn_blocking(move || dsu::update_with(&patch, &options)).await.unwrap()
}

async fn rollback() -> Result<dsu::UpdateReport, dsu::UpdateError> {
    tokio::task::spawn_blocking(dsu::rollback).await.unwrap()
}

/// Waits until `condition` holds, for at most a minute.
fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Records whether it was woken.
#[derive(Default)]
struct Woken(AtomicBool);

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Waits until an update waits at the gate: until a new transaction, polled here, is held at
/// its first poll without running its body. The held probe is returned, to see it woken.
fn wait_for_the_gate_to_close() -> (Arc<Woken>, impl Future<Output = ()>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ran = Arc::new(AtomicBool::new(false));
        let probe = {
            let ran = ran.clone();
            Box::pin(dsu::transaction_future(async move { ran.store(true, Ordering::Relaxed) }))
        };
        let woken = Arc::new(Woken::default());
        let waker = Waker::from(woken.clone());
        let mut probe = probe;
        if probe.as_mut().poll(&mut Context::from_waker(&waker)).is_pending() {
            assert!(!ran.load(Ordering::Relaxed), "held before its body runs");
            return (woken, probe);
        }
        assert!(Instant::now() < deadline, "no update closed the gate");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn an_update_never_splits_an_async_transaction_across_its_awaits() {
    let _turn = turn();
    let v2 = v2();
    let runtime = runtime(2);
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let stop = stop.clone();
            runtime.spawn(async move {
                let mut seen = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    seen.push(asyncapp::pair_yielding(4).await);
                }
                seen
            })
        })
        .collect();
    runtime.block_on(async {
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            update(v2.clone()).await.expect("v2 applies");
            tokio::time::sleep(Duration::from_millis(20)).await;
            rollback().await.expect("back to v1");
        }
    });
    stop.store(true, Ordering::Relaxed);
    let seen: Vec<(u32, u32)> =
        tasks.into_iter().flat_map(|task| runtime.block_on(task).unwrap()).collect();
    let split: Vec<_> = seen.iter().filter(|(first, last)| first != last).collect();
    assert!(split.is_empty(), "{} of {} transactions ran two versions", split.len(), seen.len());
    assert!(seen.contains(&(1, 1)) && seen.contains(&(2, 2)), "both versions ran");
}

#[test]
fn an_update_waits_for_an_async_transaction_and_commits_after_it() {
    let _turn = turn();
    let v2 = v2();
    let runtime = runtime(2);
    let latch = Latch::default();
    let old = runtime.spawn(asyncapp::pair(latch.clone()));
    wait_until("the transaction waits on its latch", || latch.waiting() == 1);

    let update = runtime.spawn(update(v2));
    let (probe_woken, probe) = wait_for_the_gate_to_close();
    // Begun while the update waits: held at its first poll, then run in v2.
    let new = runtime.spawn(asyncapp::pair(Latch::opened()));
    std::thread::sleep(Duration::from_millis(20));
    assert!(!new.is_finished() && !update.is_finished(), "both wait for the old transaction");
    assert_eq!(runtime.block_on(asyncapp::version_async()), 1, "not committed yet");

    latch.open();
    assert_eq!(runtime.block_on(old).unwrap(), (1, 1), "it finished in v1");
    let report = runtime.block_on(update).unwrap().expect("v2 applies after the transaction");
    assert!(
        report.waited_for.iter().any(|origin| origin.contains("asyncapp@1.0.0")),
        "{:?}",
        report.waited_for
    );
    assert_eq!(runtime.block_on(new).unwrap(), (2, 2), "held, then run in v2");
    assert!(probe_woken.0.load(Ordering::Relaxed), "a held transaction is woken at the commit");
    runtime.block_on(probe);
    runtime.block_on(rollback()).expect("back to v1");
}

#[test]
fn a_runtime_with_one_worker_serves_while_an_update_waits() {
    let _turn = turn();
    let v2 = v2();
    let runtime = runtime(1);
    let latch = Latch::default();
    let old = runtime.spawn(asyncapp::pair(latch.clone()));
    wait_until("the transaction waits on its latch", || latch.waiting() == 1);

    // Asked for from a thread of its own, as an admin endpoint on the runtime's blocking pool
    // would.
    let updater = std::thread::spawn(move || {
        let options = dsu::UpdateOptions::default().timeout(Duration::from_secs(60));
        dsu::update_with(&v2, &options)
    });
    let (_, probe) = wait_for_the_gate_to_close();
    // A transaction held at its boundary does not take the worker: plain tasks go on, and so
    // does the old transaction the update waits for.
    let held = runtime.spawn(asyncapp::pair(Latch::opened()));
    for _ in 0..100 {
        let served = runtime.spawn(async { asyncapp::version_async().await + asyncapp::version() });
        assert_eq!(runtime.block_on(served).unwrap(), 2, "served by v1 while the update waits");
    }
    assert!(!updater.is_finished());
    latch.open();
    assert_eq!(runtime.block_on(old).unwrap(), (1, 1), "the one worker ran it to its end");
    let report = updater.join().unwrap().expect("v2 applies after it");
    assert_eq!(report.waited_for.len(), 1, "{:?}", report.waited_for);
    assert_eq!(runtime.block_on(held).unwrap(), (2, 2));
    runtime.block_on(probe);
    runtime.block_on(rollback()).expect("back to v1");
}

#[test]
fn an_updateable_async_transaction_counts_its_own_call() {
    let _turn = turn();
    let v2 = v2();
    let runtime = runtime(2);
    let latch = Latch::default();
    // Inside its transaction it has called only itself, which v2 changes.
    let old = runtime.spawn(asyncapp::counted(latch.clone()));
    wait_until("the transaction waits on its latch", || latch.waiting() == 1);
    let update = runtime.spawn(update(v2));
    let (_, probe) = wait_for_the_gate_to_close();
    std::thread::sleep(Duration::from_millis(20));
    assert!(!update.is_finished(), "the update waits for the transaction");
    latch.open();
    assert_eq!(runtime.block_on(old).unwrap(), (1, 1), "its own body and its callee are v1's");
    let report = runtime.block_on(update).unwrap().expect("v2 applies after it");
    assert_eq!(report.waited_for.len(), 1, "{:?}", report.waited_for);
    runtime.block_on(probe);
    assert_eq!(runtime.block_on(asyncapp::counted(Latch::opened())), (2, 2));
    runtime.block_on(rollback()).expect("back to v1");
}

#[test]
fn a_task_spawned_in_an_async_transaction_is_not_in_it_unless_handed_one() {
    let _turn = turn();
    let v2 = v2();
    let runtime = runtime(2);
    // The spawned task calls what v2 changes; the transaction itself calls nothing, and waits.
    let latch = Latch::default();
    let parent = runtime.spawn(dsu::transaction_future({
        let latch = latch.clone();
        async move {
            tokio::spawn(asyncapp::version_async()).await.unwrap();
            latch.wait().await;
        }
    }));
    wait_until("the transaction waits on its latch", || latch.waiting() == 1);
    let report = runtime.block_on(update(v2.clone())).expect("nothing conflicts");
    assert!(report.waited_for.is_empty(), "{:?}", report.waited_for);
    latch.open();
    runtime.block_on(parent).unwrap();
    runtime.block_on(rollback()).expect("back to v1");

    // Handed the transaction, the spawned task's calls are the transaction's.
    let mut transaction = dsu::Transaction::begin();
    let transaction = runtime.block_on(async move {
        tokio::spawn(async move {
            assert_eq!(transaction.run_future(asyncapp::version_async()).await, 1);
            transaction
        })
        .await
        .unwrap()
    });
    let options = dsu::UpdateOptions::default().timeout(Duration::from_millis(50));
    let error = dsu::update_with(&v2, &options).expect_err("the open transaction conflicts");
    assert!(matches!(error, dsu::UpdateError::Timeout { .. }), "{error}");
    assert!(error.to_string().contains("async_transactions.rs"), "{error}");
    drop(transaction);
    dsu::update(&v2).expect("the transaction has ended");
    runtime.block_on(rollback()).expect("back to v1");
}
