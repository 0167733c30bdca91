//! What an updateable `async fn` and an async transaction cost, next to the same code without
//! dsu, as ratios measured in one run.
//!
//! ```text
//! cargo bench --bench async -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! `async_call/<measurement>`: each iteration polls, once and to its end, a future that awaits
//! `CALLS` calls of one fn of the fixture `asyncapp` (`tests/fixtures/asyncapp`), with its
//! argument and result through `black_box`; the throughput is in calls.
//!
//! - `plain`: `triple_plain`, an `async fn` that is not updateable: the baseline.
//! - `counted`: `triple_plain` between the two steps of the count of futures in flight that
//!   an updateable call makes (`InFlight::start` and the guard's drop): that count's share of
//!   what `updateable` adds.
//! - `updateable`: `triple`, the same body, `#[dsu::updateable]`: the call reaches the
//!   program's own version, whose future the stub awaits in place, unboxed.
//! - `updateable_boxed`: `triple` again after the bench applied asyncapp v2 (built in release
//!   mode), which changes it: the call crosses to the patch's version, whose future comes boxed.
//!
//! `async_transaction/<measurement>`: each iteration polls a future that returns `Pending`
//! `POLLS - 1` times (waking itself) and then completes, `POLLS` polls in all; the throughput
//! is in polls.
//!
//! - `bare`: the future alone: the baseline.
//! - `in_transaction`: the future in `dsu::transaction_future`: per poll, the look at the gate
//!   and attaching the transaction's record to the thread; once per iteration, beginning and
//!   ending the transaction, spread over `POLLS` polls.
//!
//! At the end the bench prints each measurement's time per call or poll and its ratio to its
//! baseline, from this run's criterion estimates.

use std::future::Future;
use std::hint::black_box;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::SystemTime;

use criterion::{Criterion, Throughput};

#[path = "support/estimates.rs"]
mod estimates;
#[path = "../tests/support/mod.rs"]
mod support;

/// Calls per iteration of `async_call`.
const CALLS: u64 = 1_000;

/// Polls per iteration of `async_transaction`.
const POLLS: u64 = 1_000;

struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
    fn wake_by_ref(self: &Arc<Self>) {}
}

/// Polls `future` until it completes, with a waker that does nothing.
fn run<F: Future>(future: F, waker: &Waker) -> F::Output {
    let mut context = Context::from_waker(waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

/// Pending `left` more times, then ready.
struct Polls {
    left: u64,
}

impl Future for Polls {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.left == 0 {
            return Poll::Ready(());
        }
        self.left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

fn polls() -> Polls {
    Polls { left: black_box(POLLS - 1) }
}

/// The sum of `call(i).await` for `i` in `0..n`, in one future polled once to its end.
#[inline(always)]
fn sum_of<F: Future<Output = u64>>(n: u64, call: impl Fn(u64) -> F) -> u64 {
    let waker = Waker::from(Arc::new(Noop));
    run(
        async move {
            let mut total = 0u64;
            for i in 0..n {
                total = total.wrapping_add(call(black_box(i)).await);
            }
            black_box(total)
        },
        &waker,
    )
}

/// Measures `call`, which makes `CALLS` calls, as `async_call/<measurement>`.
fn calls(criterion: &mut Criterion, measurement: &str, call: fn(u64) -> u64) {
    let mut group = criterion.benchmark_group("async_call");
    group.throughput(Throughput::Elements(CALLS));
    group.bench_function(measurement, |b| b.iter(|| call(CALLS)));
    group.finish();
}

fn main() {
    let waker = Waker::from(Arc::new(Noop));
    let started = SystemTime::now();
    let mut criterion = Criterion::default().configure_from_args();

    fn plain(n: u64) -> u64 {
        sum_of(n, asyncapp::triple_plain)
    }
    fn updateable(n: u64) -> u64 {
        sum_of(n, asyncapp::triple)
    }
    fn counted(n: u64) -> u64 {
        static FUTURES: dsu::__private::InFlight = dsu::__private::InFlight::new();
        sum_of(n, |i| async move {
            let _running = FUTURES.start();
            asyncapp::triple_plain(i).await
        })
    }
    assert_eq!(plain(10), updateable(10));
    assert_eq!(plain(10), counted(10));
    calls(&mut criterion, "plain", plain);
    calls(&mut criterion, "counted", counted);
    calls(&mut criterion, "updateable", updateable);

    let mut group = criterion.benchmark_group("async_transaction");
    group.throughput(Throughput::Elements(POLLS));
    group.bench_function("bare", |b| b.iter(|| run(polls(), &waker)));
    group.bench_function("in_transaction", |b| {
        b.iter(|| run(dsu::transaction_future(polls()), &waker))
    });
    group.finish();

    let v2 = support::build_release("asyncapp/v2");
    let report = dsu::update(&v2).expect("v2 applies");
    assert!(report.replaced.iter().any(|item| item.path == "asyncapp::triple"), "{report}");
    assert_eq!(plain(10), updateable(10), "v2's triple gives the same");
    calls(&mut criterion, "updateable_boxed", updateable);
    criterion.final_summary();

    let home = estimates::criterion_home();
    let per = |group: &str, function: &str, each: u64| {
        estimates::per_iteration(&home, [group, function, ""], started).map(|ns| ns / each as f64)
    };
    let summary = [
        ("async_call", "plain", "counted", CALLS),
        ("async_call", "plain", "updateable", CALLS),
        ("async_call", "plain", "updateable_boxed", CALLS),
        ("async_transaction", "bare", "in_transaction", POLLS),
    ];
    println!();
    for (group, baseline, measured, each) in summary {
        let (Some(base), Some(time)) = (per(group, baseline, each), per(group, measured, each))
        else {
            continue; // a filter left one out
        };
        println!(
            "{group}: {measured} {time:.2} ns, {baseline} {base:.2} ns: ratio {:.2}, {:+.2} ns",
            time / base,
            time - base
        );
    }
}
