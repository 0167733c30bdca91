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
//! the bodies of the first n. Every measured update is the first one of a fresh process
//! (`support/fresh.rs`).
//!
//! The state-transform case, an update that converts a million entries, is in
//! `benches/transform.rs`: a program links one crate with `dsu::patch!()`.

use std::path::PathBuf;
use std::time::Instant;

use criterion::{BenchmarkId, Criterion};

#[path = "support/fresh.rs"]
mod fresh;
#[path = "../tests/support/mod.rs"]
mod support;

/// How many functions the patches replace.
const CHANGED: [usize; 3] = [1, 100, 1000];

/// In the fresh process: applies the patch and prints what the update took.
fn apply(patch: &str) {
    let changed: usize = std::env::var("DSU_BENCH_CHANGED").unwrap().parse().unwrap();
    let started = Instant::now();
    let report = dsu::update(patch).expect("the patch applies");
    let whole = started.elapsed();
    assert_eq!(report.replaced.len(), changed, "{report}");
    assert_eq!(many::changed(), changed, "every changed function runs its new body");
    fresh::print(&report, whole);
}

fn main() {
    if let Ok(patch) = std::env::var(fresh::APPLY) {
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
        let changed = n.to_string();
        let env = [("DSU_BENCH_CHANGED", changed.as_str())];
        let [pause, _, whole] = fresh::MEASURES;
        for (measure, of) in [pause, whole] {
            group.bench_with_input(BenchmarkId::new(measure, n), patch, |b, patch| {
                b.iter_custom(|iterations| {
                    (0..iterations).map(|_| of(fresh::update_in_fresh_process(patch, &env))).sum()
                })
            });
        }
    }
    group.finish();
    criterion.final_summary();
}
