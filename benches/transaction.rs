//! What entering and leaving a transaction costs, on 1 to 16 threads at once, next to an empty
//! loop (the baseline) and to three ways other code marks a critical section: pinning an epoch
//! of `crossbeam-epoch`, a counter all threads share, and a read lock of a `parking_lot`
//! `RwLock`.
//!
//! ```text
//! cargo bench --bench transaction -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Every measurement is a loop of one operation per iteration, with the loop counter passed to
//! `black_box` so that the loops have the same shape:
//!
//! - `empty`: the loop alone, the baseline.
//! - `dsu_enter_exit`: `dsu::__private::enter(Location::caller())` held in a guard dropped at
//!   the end of the iteration, which is what `#[dsu::transaction]` generates (and what
//!   `dsu::transaction(|| ..)` does around its closure).
//! - `epoch_pin`: `crossbeam_epoch::pin()` and the drop of its guard.
//! - `atomic_counter`: `fetch_add` on entering and `fetch_sub` on leaving, of one `AtomicUsize`
//!   that every thread shares, as a count of threads inside would.
//! - `rwlock_read`: a read lock of one `parking_lot::RwLock<()>` that every thread shares,
//!   taken and released.
//!
//! Each is measured with 1, 2, 4, 8 and 16 threads (criterion's ids are
//! `transaction/<measurement>/<threads>`): every thread runs the same loop of N iterations,
//! and the time reported is the wall time of all of them over N, the time per operation per
//! thread. The threads are spawned once per thread count and wait on a barrier between
//! samples, so spawning is not measured; what the barrier costs per sample is a constant that
//! criterion's slope (time against N) leaves out.
//!
//! How to read it: the machine may have fewer cores than threads, and then every figure rises
//! with the thread count, the empty loop's too, since the threads take turns. So compare each
//! measurement to `empty` at the same thread count. An operation that writes only its own
//! thread's cache lines keeps the same ratio at every count; one that writes a line every
//! thread writes (the shared counter, the lock's state) has its ratio grow as soon as two
//! threads run at once, because the line moves between cores on every operation.
//!
//! At the end (`cargo bench` only) the bench prints, for each thread count, criterion's time
//! per operation of each measurement of this run, its ratio to `empty` and its cost over
//! `empty`; then the ratios side by side; and, for one thread, the best time of many short
//! rounds that run the loops in turn, which drift on a busy machine does not skew as it does
//! criterion's figures.

use std::hint::black_box;
use std::panic::Location;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

#[path = "support/estimates.rs"]
mod estimates;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion};
use parking_lot::RwLock;

/// The thread counts measured.
const THREADS: [usize; 5] = [1, 2, 4, 8, 16];

/// A loop of `n` operations on the calling thread.
type Loop = fn(&Shared, u64);

/// The measurements, by name; the first is the baseline of the ratios.
const LOOPS: [(&str, Loop); 5] = [
    ("empty", empty),
    ("dsu_enter_exit", dsu_enter_exit),
    ("epoch_pin", epoch_pin),
    ("atomic_counter", atomic_counter),
    ("rwlock_read", rwlock_read),
];

/// Operations per loop in a round of the best-of-rounds measurement, and how many rounds.
const ROUND: u64 = 10_000;
const ROUNDS: usize = 1_000;

/// A value alone on its cache lines (two: the adjacent-line prefetcher pairs them), so that
/// what the threads share is exactly what the measurement shares, nothing next to it.
#[repr(align(128))]
struct Padded<T>(T);

/// What the threads of a measurement share.
struct Shared {
    counter: Padded<AtomicUsize>,
    lock: Padded<RwLock<()>>,
}

// Each loop is a function of its own, never inlined, so that its code can be found by name in
// the bench binary (`objdump -d`) and the compiler cannot fold loops into each other.

/// The baseline: the loop and an opaque use of its counter.
#[inline(never)]
fn empty(_: &Shared, n: u64) {
    for i in 0..n {
        black_box(i);
    }
}

/// What `#[dsu::transaction]` makes of a function body: `enter` first, with the location of
/// the function, and the guard dropped at the end of the body.
#[inline(never)]
fn dsu_enter_exit(_: &Shared, n: u64) {
    for i in 0..n {
        let _entered = dsu::__private::enter(Location::caller());
        black_box(i);
    }
}

/// An epoch-based reclamation critical section, on crossbeam's default collector.
#[inline(never)]
fn epoch_pin(_: &Shared, n: u64) {
    for i in 0..n {
        let _guard = crossbeam_epoch::pin();
        black_box(i);
    }
}

/// A count of the threads inside, which an updater could wait to see at zero: the simplest
/// quiescence scheme, and the cost dsu's per-thread records avoid.
#[inline(never)]
fn atomic_counter(shared: &Shared, n: u64) {
    let counter = &shared.counter.0;
    for i in 0..n {
        counter.fetch_add(1, Ordering::AcqRel);
        black_box(i);
        counter.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A read lock held across the section, which an updater would take for writing.
#[inline(never)]
fn rwlock_read(shared: &Shared, n: u64) {
    let lock = &shared.lock.0;
    for i in 0..n {
        let _read = lock.read();
        black_box(i);
    }
}

/// Threads that run a loop together: the calling thread and `threads - 1` workers, which
/// wait on the barrier between runs. The barrier orders the job's stores before the workers'
/// loads, so they are `Relaxed`.
struct Pool {
    barrier: Barrier,
    /// The index in `LOOPS` of the loop to run, and its length.
    job: AtomicUsize,
    n: AtomicU64,
    stop: AtomicBool,
}

impl Pool {
    /// Runs `n` operations of loop `job` on every thread of the pool, this one included, and
    /// returns the wall time from their start to the end of the last one.
    fn run(&self, shared: &Shared, job: usize, n: u64) -> Duration {
        self.job.store(job, Ordering::Relaxed);
        self.n.store(n, Ordering::Relaxed);
        let start = Instant::now();
        self.barrier.wait();
        LOOPS[job].1(shared, n);
        self.barrier.wait();
        start.elapsed()
    }

    /// A worker's life: each run between two waits, until the pool stops.
    fn work(&self, shared: &Shared) {
        loop {
            self.barrier.wait();
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            LOOPS[self.job.load(Ordering::Relaxed)].1(shared, self.n.load(Ordering::Relaxed));
            self.barrier.wait();
        }
    }
}

/// Stops the workers when dropped, on a panic too, so that the scope that joins them ends.
struct Stop<'a>(&'a Pool);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        self.0.stop.store(true, Ordering::Relaxed);
        self.0.barrier.wait();
    }
}

/// Measures every loop with criterion on `threads` threads.
fn measure(group: &mut BenchmarkGroup<'_, WallTime>, shared: &Shared, threads: usize) {
    let pool = Pool {
        barrier: Barrier::new(threads),
        job: AtomicUsize::new(0),
        n: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    };
    thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(|| pool.work(shared));
        }
        let _stop = Stop(&pool);
        for (job, &(name, _)) in LOOPS.iter().enumerate() {
            group.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, _| {
                b.iter_custom(|n| pool.run(shared, job, n))
            });
        }
    });
}

/// The best time per operation of each loop on this thread, over rounds that run the loops in
/// turn: a slow stretch of the machine slows one round of every loop, not one loop.
fn best_of_rounds(shared: &Shared) -> Vec<f64> {
    let mut best = vec![f64::INFINITY; LOOPS.len()];
    for _ in 0..ROUNDS {
        for (time, &(_, run)) in best.iter_mut().zip(&LOOPS) {
            let start = Instant::now();
            run(shared, black_box(ROUND));
            *time = time.min(start.elapsed().as_secs_f64() * 1e9 / ROUND as f64);
        }
    }
    best
}

/// Nanoseconds per operation of a measurement made since `since`: an iteration is one
/// operation on each thread (criterion's slope leaves out the barrier's cost per sample).
fn per_op(home: &Path, name: &str, threads: usize, since: SystemTime) -> Option<f64> {
    estimates::per_iteration(home, ["transaction", name, &threads.to_string()], since)
}

fn print_summary(home: &Path, since: SystemTime, best: &[f64]) {
    // times[t][l]: loop `l` on `THREADS[t]` threads.
    let times: Vec<Vec<Option<f64>>> = THREADS
        .iter()
        .map(|&threads| LOOPS.iter().map(|&(name, _)| per_op(home, name, threads, since)).collect())
        .collect();
    if times.iter().flatten().all(Option::is_none) && best.is_empty() {
        return; // `--list`, or everything filtered out
    }
    let show = |value: Option<f64>, unit: &str, precision: usize| {
        value.map_or_else(|| "-".to_owned(), |value| format!("{value:.precision$}{unit}"))
    };
    let show_over =
        |ns: Option<f64>| ns.map_or_else(|| "-".to_owned(), |ns| format!("{ns:+.3} ns"));
    let ratio = |time: Option<f64>, base: Option<f64>| Some(time? / base?);
    let over = |time: Option<f64>, base: Option<f64>| Some(time? - base?);

    println!(
        "\ntransaction: time per operation per thread, this run (criterion: {})",
        home.display()
    );
    println!(
        "  {:>7}  {:<16} {:>12} {:>9} {:>12}",
        "threads", "", "criterion", "/empty", "over empty"
    );
    for (&threads, row) in THREADS.iter().zip(&times) {
        if row.iter().all(Option::is_none) {
            continue;
        }
        let base = row[0];
        for (&(name, _), &time) in LOOPS.iter().zip(row) {
            println!(
                "  {threads:>7}  {name:<16} {:>12} {:>9} {:>12}",
                show(time, " ns", 3),
                show(ratio(time, base), "x", 2),
                show_over(over(time, base)),
            );
        }
    }

    println!("\n  ratio to empty at the same thread count");
    print!("  {:<16}", "threads:");
    for threads in THREADS {
        print!(" {threads:>8}");
    }
    println!();
    for (l, &(name, _)) in LOOPS.iter().enumerate().skip(1) {
        print!("  {name:<16}");
        for row in &times {
            print!(" {:>8}", show(ratio(row[l], row[0]), "x", 2));
        }
        println!();
    }

    if !best.is_empty() {
        println!("\n  1 thread, best of {ROUNDS} rounds of {ROUND} operations, loops in turn:");
        for (&(name, _), &time) in LOOPS.iter().zip(best) {
            println!(
                "  {:>7}  {name:<16} {:>12} {:>9} {:>12}",
                1,
                show(Some(time), " ns", 3),
                show(Some(time / best[0]), "x", 2),
                show_over(Some(time - best[0])),
            );
        }
    }

    let dsu = LOOPS.iter().position(|&(name, _)| name == "dsu_enter_exit").expect("measured");
    let of_criterion = over(times[0][dsu], times[0][0]);
    let of_best = best.get(dsu).map(|time| time - best[0]);
    println!(
        "\n  dsu enter+exit over empty, 1 thread: {} (criterion), {} (best round); \
         target: at most +2 ns",
        show_over(of_criterion),
        show_over(of_best),
    );
}

fn main() {
    let since = SystemTime::now();
    let mut criterion = Criterion::default().configure_from_args();
    let shared = Shared { counter: Padded(AtomicUsize::new(0)), lock: Padded(RwLock::new(())) };
    let mut group = criterion.benchmark_group("transaction");
    for threads in THREADS {
        measure(&mut group, &shared, threads);
    }
    group.finish();
    // Under `cargo test --benches` (no `--bench`) criterion runs each loop once: so do we,
    // and there is no summary to print.
    let benching = std::env::args().any(|arg| arg == "--bench");
    let best = if benching { best_of_rounds(&shared) } else { Vec::new() };
    criterion.final_summary();
    if benching {
        print_summary(&estimates::criterion_home(), since, &best);
    }
}
