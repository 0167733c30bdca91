//! What a call through an `#[dsu::updateable]` function costs next to a direct call that is
//! not inlined (the limit), in the program and inside a patch; with, for reference, a call
//! through a plain function pointer and a call under a read of an `RwLock<fn>`, the
//! indirection hot-reloading crates use.
//!
//! ```text
//! cargo bench --bench call -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Each iteration makes `CALLS` calls from a loop in the fixture `benchapp`
//! (`tests/fixtures/bench`), and the throughput is in calls. The bench measures in the program
//! (v1, linked in), then builds v2 in release mode and applies it: v2 changes only the loops,
//! so they run from the patch image, and their calls to `step` go through the patch's slot to
//! the program's `step`, which is unchanged.
//!
//! - `direct`: a `call rel32` to a function of the same image that is never inlined.
//! - `fn_pointer`: a call through a function pointer in a register. In the program it is what
//!   a call to a `pub` non-inlined function of a cdylib crate compiles to inside a loop (LLVM
//!   loads the GOT entry once); in the patch it calls the program's function, so it is the
//!   limit for a call from a patch into the program, which is what `updateable` makes there.
//! - `updateable`: a call to `#[dsu::updateable] fn step`.
//! - `rwlock_fn`: a read lock of an `RwLock<fn>` held across the call.
//! - `arc_swap`: a load of an `ArcSwap<fn>` (the arc-swap crate), held across the call: the
//!   indirection of a hand-made reloader that swaps a function without a lock.
//! - `hot_lib_reloader`: what the wrapper that hot-lib-reloader's `#[hot_module]` generates for
//!   each function does per call, reproduced with libloading, the crate it uses (its own
//!   `LibReloader` watches files and is driven by a thread of its own, which a bench cannot
//!   hold still): clone the `Arc` of the loader, take its `RwLock` for reading, look the symbol
//!   up by name (`dlsym`), call it. The library is the bench fixture's cdylib, `hot_step`.
//! - `subsecond`: a call through subsecond's `HotFn` (the real crate, with the debug assertions
//!   it needs to look anything up; without them it calls the function directly), after
//!   `apply_patch` installed a jump table that maps the function to itself: the state of a
//!   program after a patch.
//!
//! At the end (`cargo bench` only) the bench prints the time per call of each measurement of
//! this run, criterion's and the best of many short rounds taken in turn (which drift on a busy
//! machine does not skew), and the ratios.

use std::hint::black_box;
use std::path::Path;
use std::sync::{Arc, OnceLock, RwLock};

use arc_swap::ArcSwap;
use libloading::Library;
use std::time::{Instant, SystemTime};
use subsecond::{HotFn, HotFunction, JumpTable};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput};

#[path = "support/estimates.rs"]
mod estimates;
#[path = "../tests/support/mod.rs"]
mod support;

/// Calls per iteration.
const CALLS: u64 = 1_000;

/// A measurement: the benchmark id `call/<function>/<place>`.
type Id = (&'static str, &'static str);

const PROGRAM: [Id; 7] = [
    ("direct", "program"),
    ("fn_pointer", "program"),
    ("updateable", "program"),
    ("rwlock_fn", "program"),
    ("arc_swap", "program"),
    ("hot_lib_reloader", "program"),
    ("subsecond", "program"),
];
const PATCH: [Id; 3] = [("direct", "patch"), ("fn_pointer", "patch"), ("updateable", "patch")];

/// `n` calls of what `hot` holds, each under a read lock of `hot`, as a hot-reloading wrapper
/// makes them.
fn run_rwlock(hot: &RwLock<fn(u64) -> u64>, n: u64) -> u64 {
    let mut acc = 0u64;
    for i in 0..n {
        let step = hot.read().unwrap();
        acc = acc.wrapping_add((*step)(black_box(i)));
    }
    acc
}

/// `n` calls of what `hot` holds, each under a load of `hot`.
fn run_arc_swap(hot: &ArcSwap<fn(u64) -> u64>, n: u64) -> u64 {
    let mut acc = 0u64;
    for i in 0..n {
        let step = hot.load();
        acc = acc.wrapping_add((**step)(black_box(i)));
    }
    acc
}

/// The library hot-lib-reloader's generated code reaches through a global `Arc<RwLock<_>>`.
static HOT_LIB: OnceLock<Arc<RwLock<Library>>> = OnceLock::new();

/// One call as hot-lib-reloader's generated wrapper makes it.
#[inline(never)]
fn hot_step(x: u64) -> u64 {
    let library = HOT_LIB.get().expect("loaded before the bench").clone();
    let library = library.read().expect("lib loader RwLock read failed");
    // SAFETY: `hot_step` is `fn(u64) -> u64` in the bench fixture, whose cdylib this is.
    let step = unsafe { library.get::<fn(u64) -> u64>(b"hot_step\0") };
    step.expect("Cannot load library function hot_step")(x)
}

/// `n` calls through hot-lib-reloader's wrapper.
fn run_hot_lib_reloader(n: u64) -> u64 {
    let mut acc = 0u64;
    for i in 0..n {
        acc = acc.wrapping_add(hot_step(black_box(i)));
    }
    acc
}

/// `n` calls of `step` through subsecond's `HotFn`.
fn run_subsecond(n: u64) -> u64 {
    let mut step = HotFn::current(benchapp::step_exported);
    let mut acc = 0u64;
    for i in 0..n {
        acc = acc.wrapping_add(step.call((black_box(i),)));
    }
    acc
}

/// The address subsecond's jump table is keyed on for `f`: its `call_it`.
fn call_it_address<A, M, F: HotFunction<A, M>>(_: &F) -> u64 {
    <F as HotFunction<A, M>>::call_it as *const () as u64
}

/// Installs a subsecond jump table that maps `step_exported`'s `call_it` to itself, through
/// `apply_patch`, as a patch would.
fn install_jump_table() {
    let lib = support::build_release("subsecond-patch");
    // SAFETY: the library's only code is an empty `main`; it runs nothing when loaded.
    let library = unsafe { Library::new(&lib) }.expect("the anchor library loads");
    // SAFETY: `main` is a function of the library; only its address is read.
    let anchor = unsafe { library.get::<*const ()>(b"main") }.expect("the anchor is exported");
    let step = call_it_address::<(u64,), _, _>(&benchapp::step_exported);
    let table = JumpTable {
        lib,
        map: [(step, step)].into_iter().collect(),
        aslr_reference: subsecond::aslr_reference() as u64,
        new_base_address: *anchor as u64,
        ifunc_count: 0,
    };
    // SAFETY: the table maps a function to itself, rebased by zero on both sides (the
    // executable's reference and the library's anchor are the ones given).
    unsafe { subsecond::apply_patch(table) }.expect("subsecond applies the table");
}

/// Measures each loop with criterion, then, under `cargo bench`, takes the best time per call
/// of each over rounds that run them in turn.
fn measure(
    group: &mut BenchmarkGroup<'_, WallTime>,
    ids: &[Id],
    runs: &[&dyn Fn(u64) -> u64],
    best: &mut Vec<(Id, f64)>,
) {
    for (&(function, place), run) in ids.iter().zip(runs) {
        group.bench_with_input(BenchmarkId::new(function, place), &CALLS, |b, &n| {
            b.iter(|| run(black_box(n)))
        });
    }
    if !std::env::args().any(|arg| arg == "--bench") {
        return; // `cargo test --benches`: criterion runs each loop once, and so do we
    }
    let mut times = vec![f64::INFINITY; runs.len()];
    for _ in 0..1_000 {
        for (time, run) in times.iter_mut().zip(runs) {
            let start = Instant::now();
            for _ in 0..10 {
                black_box(run(black_box(CALLS)));
            }
            *time = time.min(start.elapsed().as_secs_f64() * 1e9 / (10 * CALLS) as f64);
        }
    }
    best.extend(ids.iter().copied().zip(times));
}

fn call(c: &mut Criterion, best: &mut Vec<(Id, f64)>) {
    let mut group = c.benchmark_group("call");
    group.throughput(Throughput::Elements(CALLS));

    // The library hot-lib-reloader would load: the fixture's cdylib (v2's, built for the
    // update below; its `hot_step` is v1's).
    let v2 = support::build_release("bench/v2");
    let hot_copy = v2.with_file_name("bench-hot-lib-reloader.so");
    std::fs::copy(&v2, &hot_copy).unwrap();
    // SAFETY: the fixture's cdylib runs no code when it loads (it has no initialisers).
    let library = unsafe { Library::new(&hot_copy) }.expect("the fixture's cdylib loads");
    HOT_LIB.set(Arc::new(RwLock::new(library))).expect("loaded once");

    // In the program: v1's loops, and v1's `step` through the program's slot.
    let hot = RwLock::new(benchapp::step_pointer());
    let rwlock = |n| run_rwlock(&hot, n);
    let swap = ArcSwap::from_pointee(benchapp::step_pointer());
    let arc_swap = |n| run_arc_swap(&swap, n);
    install_jump_table();
    let program: [&dyn Fn(u64) -> u64; 7] = [
        &benchapp::run_direct,
        &benchapp::run_pointer,
        &benchapp::run_updateable,
        &rwlock,
        &arc_swap,
        &run_hot_lib_reloader,
        &run_subsecond,
    ];
    measure(&mut group, &PROGRAM, &program, best);

    // v2's loops start from 1: seeing that is seeing them run from the patch.
    let v1 = program.map(|run| run(CALLS));
    assert!(v1.iter().all(|&result| result == v1[0]), "the same calls");
    let report = dsu::update(&v2).expect("v2 applies");
    let mut replaced: Vec<&str> = report.replaced.iter().map(|item| item.path.as_str()).collect();
    replaced.sort_unstable();
    assert_eq!(
        replaced,
        ["benchapp::run_direct", "benchapp::run_pointer", "benchapp::run_updateable"],
        "{report}"
    );
    let patch: [&dyn Fn(u64) -> u64; 3] =
        [&benchapp::run_direct, &benchapp::run_pointer, &benchapp::run_updateable];
    assert_eq!(patch.map(|run| run(CALLS)), [v1[0].wrapping_add(1); 3], "the loops run from v2");

    // In the patch: v2's loops, calling the patch's own `step_direct`, the program's
    // `step_exported` through a pointer, and `step` through the patch's slot, which the update
    // pointed at the program's `step`.
    measure(&mut group, &PATCH, &patch, best);
    group.finish();
}

/// Nanoseconds per call of a measurement made since `since`.
fn per_call(home: &Path, (function, place): Id, since: SystemTime) -> Option<f64> {
    Some(estimates::per_iteration(home, ["call", function, place], since)? / CALLS as f64)
}

fn print_summary(home: &Path, since: SystemTime, best: &[(Id, f64)]) {
    let rows: Vec<(Id, Option<f64>, Option<f64>)> = PROGRAM
        .iter()
        .chain(&PATCH)
        .map(|&id| {
            let of_best = best.iter().find(|(b, _)| *b == id).map(|(_, time)| *time);
            (id, per_call(home, id, since), of_best)
        })
        .filter(|(_, criterion, of_best)| criterion.is_some() || of_best.is_some())
        .collect();
    if rows.is_empty() {
        return; // test mode, `--list`, or everything filtered out
    }
    let show = |time: Option<f64>, unit: &str| {
        time.map_or_else(|| "-".to_owned(), |time| format!("{time:.3}{unit}"))
    };
    println!("\ncall: time per call, this run (criterion: {})", home.display());
    println!("  {:<42} {:>12} {:>12}", "", "criterion", "best round");
    for ((function, place), criterion, of_best) in &rows {
        let label = format!("{function} in the {place}");
        println!("  {label:<42} {:>12} {:>12}", show(*criterion, " ns"), show(*of_best, " ns"));
    }
    let ratio = |label: &str, over: Id, under: Id| {
        let find = |id: Id| rows.iter().find(|(row, ..)| *row == id);
        let (Some(&(_, c1, b1)), Some(&(_, c2, b2))) = (find(over), find(under)) else { return };
        let divide = |a: Option<f64>, b: Option<f64>| Some(a? / b?);
        println!(
            "  {label:<42} {:>12} {:>12}",
            show(divide(c1, c2), "x"),
            show(divide(b1, b2), "x")
        );
    };
    let [direct, pointer, updateable, rwlock, arc_swap, hot_lib_reloader, subsecond] = PROGRAM;
    ratio("updateable/direct in the program", updateable, direct);
    ratio("updateable/fn_pointer in the program", updateable, pointer);
    ratio("RwLock<fn>/direct in the program", rwlock, direct);
    ratio("ArcSwap<fn>/direct in the program", arc_swap, direct);
    ratio("hot-lib-reloader/direct in the program", hot_lib_reloader, direct);
    ratio("subsecond HotFn/direct in the program", subsecond, direct);
    let [direct, pointer, updateable] = PATCH;
    ratio("updateable/direct in the patch", updateable, direct);
    ratio("updateable/fn_pointer (into the program)", updateable, pointer);
}

fn main() {
    let since = SystemTime::now();
    let mut criterion = Criterion::default().configure_from_args();
    let mut best = Vec::new();
    call(&mut criterion, &mut best);
    criterion.final_summary();
    print_summary(&estimates::criterion_home(), since, &best);
}
