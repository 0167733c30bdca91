//! What converting state cells costs beside converting a global of the same total size: ten
//! thousand records, each in a cell of its own, against one global holding the same ten thousand
//! records in a `Vec`, each converted by an update whose record type gained a field (a derived
//! transformer), in release builds.
//!
//! ```text
//! cargo bench --bench cells -- --warm-up-time 1 --measurement-time 5
//! ```
//!
//! The program is the fixture `cellbench` (`tests/fixtures/cellbench`), linked in; its patches
//! `v2-cells` and `v2-global` change one of the two. Every measured update is the first one of a
//! fresh process (`support/fresh.rs`). Criterion measures how long the update held back the
//! calls that reach what it converts (`UpdateReport::held`: the conversion and the commit); the
//! summary gives the medians of the pause, the hold and the whole update, and the ratio of the
//! two holds.

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};

#[path = "support/fresh.rs"]
mod fresh;
#[path = "../tests/support/mod.rs"]
mod support;

/// How many records each conversion converts.
const RECORDS: u64 = 10_000;

/// In the fresh process: makes the records, applies the patch, checks what it converted, and
/// prints the times.
fn apply(patch: &str) {
    let cells = cellbench::cells(RECORDS);
    cellbench::fill(RECORDS);
    let sum = RECORDS * (RECORDS - 1) / 2;
    let started = Instant::now();
    let report = dsu::update(patch).expect("the patch applies");
    let whole = started.elapsed();
    match std::env::var("DSU_BENCH_CONVERTS").as_deref() {
        Ok("cells") => {
            let converted = report.converted_cells.iter().map(|c| c.cells).sum::<usize>();
            assert_eq!(converted as u64, RECORDS, "{report}");
            assert_eq!(cellbench::total(&cells), (sum, 2));
        }
        _ => {
            assert_eq!(report.converted.len(), 1, "{report}");
            assert_eq!(cellbench::global_total(), (sum, 2));
        }
    }
    fresh::print(&report, whole);
}

fn main() {
    if let Ok(patch) = std::env::var(fresh::APPLY) {
        return apply(&patch);
    }
    let patches = [
        ("cells", support::build_release("cellbench/v2-cells")),
        ("global", support::build_release("cellbench/v2-global")),
    ];
    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("convert");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(1))
        .warm_up_time(Duration::from_millis(1));
    let runs = std::cell::RefCell::new(vec![Vec::new(), Vec::new()]);
    for (index, (converts, patch)) in patches.iter().enumerate() {
        let name = format!("held_{converts}");
        group.bench_with_input(BenchmarkId::new(name, RECORDS), patch, |b, patch| {
            b.iter_custom(|iterations| {
                let env = [("DSU_BENCH_CONVERTS", *converts)];
                let times: Vec<fresh::Times> =
                    (0..iterations).map(|_| fresh::update_in_fresh_process(patch, &env)).collect();
                runs.borrow_mut()[index].extend(&times);
                times.iter().map(|times| times.held).sum()
            })
        });
    }
    group.finish();
    criterion.final_summary();
    let runs = runs.into_inner();
    if runs.iter().any(Vec::is_empty) {
        return; // a filter left one out
    }
    let mut held = [Duration::ZERO; 2];
    for ((converts, _), (times, held)) in patches.iter().zip(runs.iter().zip(&mut held)) {
        println!("\nupdate converting {RECORDS} records in {converts}, median of {}:", times.len());
        for (measure, of) in fresh::MEASURES {
            let time = fresh::median(times.iter().map(|times| of(*times)).collect());
            println!("  {measure:<14} {:>10.3} ms", time.as_secs_f64() * 1e3);
        }
        *held = fresh::median(times.iter().map(|times| times.held).collect());
    }
    let ratio = held[0].as_secs_f64() / held[1].as_secs_f64();
    println!("\nheld, cells / global: {ratio:.2}");
}
