//! What an update costs when a patch replaces 1, 100 or 1,000 functions: the pause (the
//! commit, during which the switch happens) and the whole `dsu::update` (reading, loading and
//! checking the patch, planning, the commit), in release builds.
//!
//! ```text
//! cargo bench --bench update -- --warm-up-time 1 --measurement-time 5
//! ```
//!
//! The program is the fixture `many` (`tests/fixtures/many`), a thousand updateable functions,
//! linked in; its patches are the same crate built with `DSU_MANY_CHANGED=n`, which changes
//! the bodies of the first n. Every measured update is the first one of a fresh process (this
//! bench, started again with `DSU_BENCH_APPLY=<patch>`), as the first update of a running
//! program is: a patch stays loaded once applied, and the slots of every image stay in the
//! registry after a rollback, so updates applied and undone in one process would each switch
//! more slots than the last.
//!
//! The state-transform case is `benches/transform.rs`.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};

#[path = "../tests/support/mod.rs"]
mod support;

/// How many functions the patches replace.
const CHANGED: [usize; 3] = [1, 100, 1000];

/// The variable that makes this bench apply one patch and print the update's pause and whole
/// time, in nanoseconds.
const APPLY: &str = "DSU_BENCH_APPLY";

/// Applies `patch` once in a fresh process and returns the update's pause and its whole time.
fn update_in_fresh_process(patch: &PathBuf, changed: usize) -> (Duration, Duration) {
    let output = Command::new(std::env::current_exe().unwrap())
        .env(APPLY, patch)
        .env("DSU_BENCH_CHANGED", changed.to_string())
        .output()
        .expect("the bench starts again");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}{}", String::from_utf8_lossy(&output.stderr));
    let mut times = text.split_whitespace().map(|n| Duration::from_nanos(n.parse().unwrap()));
    (times.next().unwrap(), times.next().unwrap())
}

/// In the fresh process: applies the patch and prints the pause and the whole time.
fn apply(patch: &str) {
    let changed: usize = std::env::var("DSU_BENCH_CHANGED").unwrap().parse().unwrap();
    let started = Instant::now();
    let report = dsu::update(patch).expect("the patch applies");
    let whole = started.elapsed();
    assert_eq!(report.replaced.len(), changed, "{report}");
    assert_eq!(many::changed(), changed, "every changed function runs its new body");
    println!("{} {}", report.pause.as_nanos(), whole.as_nanos());
}

fn main() {
    if let Ok(patch) = std::env::var(APPLY) {
        return apply(&patch);
    }
    let patches: Vec<(usize, PathBuf)> = CHANGED
        .iter()
        .map(|&n| (n, support::build_release_with("many", &[("DSU_MANY_CHANGED", &n.to_string())])))
        .collect();
    assert_eq!(many::changed(), 0);

    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("update");
    group.sample_size(10);
    for (n, patch) in &patches {
        group.bench_with_input(BenchmarkId::new("pause", n), patch, |b, patch| {
            b.iter_custom(|iterations| {
                (0..iterations).map(|_| update_in_fresh_process(patch, *n).0).sum()
            })
        });
        group.bench_with_input(BenchmarkId::new("whole_update", n), patch, |b, patch| {
            b.iter_custom(|iterations| {
                (0..iterations).map(|_| update_in_fresh_process(patch, *n).1).sum()
            })
        });
    }
    group.finish();
    criterion.final_summary();
}
