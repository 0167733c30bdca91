//! Updates measured as the first update of a fresh process: the bench starts itself again with
//! `DSU_BENCH_APPLY=<patch>`, and the new process applies the patch once and prints what the
//! update took. A patch stays loaded once applied, and the slots of every image stay in the
//! registry after a rollback, so updates applied and undone in one process would each switch
//! more slots than the last, and a converted global could not be converted again.

#![allow(dead_code)] // each bench uses part of it
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The variable that makes the bench apply one patch and print what the update took.
pub(crate) const APPLY: &str = "DSU_BENCH_APPLY";

/// What one update took.
#[derive(Clone, Copy)]
pub(crate) struct Times {
    /// The commit.
    pub(crate) pause: Duration,
    /// How long calls of what the update changed were held back (`UpdateReport::held`).
    pub(crate) held: Duration,
    /// The whole `dsu::update`.
    pub(crate) whole: Duration,
}

/// A figure of an update, by name.
pub(crate) type Measure = (&'static str, fn(Times) -> Duration);

/// The three figures.
pub(crate) const MEASURES: [Measure; 3] = [
    ("pause", |times| times.pause),
    ("held", |times| times.held),
    ("whole_update", |times| times.whole),
];

/// Applies `patch` once in a fresh process of this bench, with `env` set, and returns what the
/// update took.
pub(crate) fn update_in_fresh_process(patch: &Path, env: &[(&str, &str)]) -> Times {
    let output = Command::new(std::env::current_exe().unwrap())
        .env(APPLY, patch)
        .envs(env.iter().copied())
        .output()
        .expect("the bench starts again");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}{}", String::from_utf8_lossy(&output.stderr));
    let mut times = text.split_whitespace().map(|n| Duration::from_nanos(n.parse().unwrap()));
    let mut next = || times.next().expect("three times");
    Times { pause: next(), held: next(), whole: next() }
}

/// In the fresh process: prints what the update took, for `update_in_fresh_process`.
pub(crate) fn print(report: &dsu::UpdateReport, whole: Duration) {
    println!("{} {} {}", report.pause.as_nanos(), report.held.as_nanos(), whole.as_nanos());
}

/// The median of `values`.
pub(crate) fn median(mut values: Vec<Duration>) -> Duration {
    values.sort_unstable();
    values[values.len() / 2]
}
