//! What converting a global's value costs when an update changes its type: a map of a million
//! entries whose value type gained a field, converted by `dsu::Transform` (the impls for the
//! containers and a `#[dsu::transform]` for the entry), next to a plain loop that builds the
//! same new map from the old one, in the same run.
//!
//! ```text
//! cargo bench --bench transform -- --warm-up-time 1 --measurement-time 10
//! ```
//!
//! Both read the old map and leave it whole, as an update must (a transformer that panics
//! loses nothing), so both copy the keys. At the end (`cargo bench` only) the bench prints the
//! best time of each over rounds that run them in turn, and the ratio.
//!
//! Then the whole update that does such a conversion: the fixture `mapapp`, linked in, filled
//! with a million entries, updated to its v2, whose entry type gains a field and whose enum
//! gains a variant, each update the first of a fresh process (`support/fresh.rs`). Criterion
//! measures how long calls that use the map were held back (the conversion and the commit);
//! the summary gives the pause and the whole update of the same runs too.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};

#[path = "support/fresh.rs"]
mod fresh;
#[path = "../tests/support/mod.rs"]
mod support;

/// Entries in the map.
const ENTRIES: usize = 1_000_000;

/// The running version's entry.
mod v1 {
    #[derive(dsu::Fingerprint)]
    pub struct Entry {
        pub value: String,
        pub expires: u64,
    }
}

/// The new version's entry: it counts hits.
#[derive(dsu::Fingerprint)]
pub struct Entry {
    pub value: String,
    pub expires: u64,
    pub hits: u64,
}

#[dsu::transform]
fn entry(old: &v1::Entry) -> Entry {
    Entry { value: old.value.clone(), expires: old.expires, hits: 0 }
}

type Old = Mutex<HashMap<String, v1::Entry>>;
type New = Mutex<HashMap<String, Entry>>;

/// A way to build the new map, by name.
type Run = (&'static str, fn(&Old) -> New);

fn old_store() -> Old {
    let map = (0..ENTRIES)
        .map(|i| (format!("key:{i}"), v1::Entry { value: format!("value {i}"), expires: i as u64 }))
        .collect();
    Mutex::new(map)
}

/// What the update runs.
fn with_dsu(old: &Old) -> New {
    dsu::Transform::transform(old)
}

/// The same new map, built by hand.
fn plain_loop(old: &Old) -> New {
    let old = old.lock().unwrap();
    let mut new = HashMap::with_capacity(old.len());
    for (key, entry) in old.iter() {
        let converted = Entry { value: entry.value.clone(), expires: entry.expires, hits: 0 };
        new.insert(key.clone(), converted);
    }
    Mutex::new(new)
}

/// In the fresh process: fills mapapp's map, converts it by the update, prints the times.
fn apply(patch: &str) {
    mapapp::fill(ENTRIES as u64);
    let started = Instant::now();
    let report = dsu::update(patch).expect("mapapp v2 applies");
    let whole = started.elapsed();
    assert_eq!(mapapp::len(), ENTRIES, "every entry converted");
    fresh::print(&report, whole);
}

fn main() {
    if let Ok(patch) = std::env::var(fresh::APPLY) {
        return apply(&patch);
    }
    let old = old_store();
    let runs: [Run; 2] = [("plain_loop", plain_loop), ("dsu_transform", with_dsu)];
    for (_, run) in runs {
        let new = run(&old).into_inner().unwrap();
        assert_eq!(
            (new.len(), new["key:7"].value.as_str(), new["key:7"].hits),
            (ENTRIES, "value 7", 0)
        );
    }

    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("transform");
    group.throughput(Throughput::Elements(ENTRIES as u64)).sample_size(10);
    for (name, run) in runs {
        group.bench_with_input(BenchmarkId::new(name, ENTRIES), &old, |b, old| {
            b.iter(|| drop(black_box(run(old))))
        });
    }
    group.finish();

    let convert = support::build_release("mapapp/v2");
    let updates = std::cell::RefCell::new(Vec::new());
    let mut group = criterion.benchmark_group("update");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(1))
        .warm_up_time(Duration::from_millis(1));
    group.bench_with_input(BenchmarkId::new("held_converting", ENTRIES), &convert, |b, patch| {
        b.iter_custom(|iterations| {
            let times: Vec<fresh::Times> =
                (0..iterations).map(|_| fresh::update_in_fresh_process(patch, &[])).collect();
            updates.borrow_mut().extend(&times);
            times.iter().map(|times| times.held).sum()
        })
    });
    group.finish();
    criterion.final_summary();
    let updates = updates.into_inner();
    if updates.is_empty() {
        return; // a filter left the update group out
    }
    println!("\nupdate converting a {ENTRIES}-entry map, median of {} runs:", updates.len());
    for (measure, of) in fresh::MEASURES {
        let time = fresh::median(updates.iter().map(|times| of(*times)).collect());
        println!("  {measure:<14} {:>10.3} ms", time.as_secs_f64() * 1e3);
    }

    if !std::env::args().any(|arg| arg == "--bench") {
        return; // `cargo test --benches`: each ran once above
    }
    let mut best = [Duration::MAX; 2];
    for _ in 0..5 {
        for (time, (_, run)) in best.iter_mut().zip(runs) {
            let start = Instant::now();
            let new = black_box(run(&old));
            *time = (*time).min(start.elapsed());
            drop(new);
        }
    }
    println!("\ntransform of a {ENTRIES}-entry map, best of 5 rounds run in turn:");
    for ((name, _), time) in runs.iter().zip(best) {
        println!("  {name:<14} {:>10.1} ms", time.as_secs_f64() * 1e3);
    }
    println!(
        "  dsu_transform / plain_loop: {:.3}x (target: at most 1.5x)",
        best[1].as_secs_f64() / best[0].as_secs_f64()
    );
}
