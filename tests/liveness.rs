//! An update never wedges, aborts or leaves a trace when it fails: transformers that read
//! other globals, call updateable code or start another update; initialisers that panic or were
//! poisoned; an update that times out. Each refused update leaves the program as it was.
//!
//! Every update runs on a thread of its own with a deadline, so that one that wedges fails its
//! test instead of hanging the suite. The tests take turns: they share one process's registry.

mod support;

use std::panic;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use dsu::{UpdateError, UpdateOptions, UpdateReport};

/// One test at a time: each starts and ends with the program at version 1.
fn turn() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `update` on a thread of its own, and gives what it returned, or panics if it has not
/// returned within a minute.
fn within_a_minute(
    update: impl FnOnce() -> Result<UpdateReport, UpdateError> + Send + 'static,
) -> Result<UpdateReport, UpdateError> {
    let (done, answer) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(update());
    });
    match answer.recv_timeout(Duration::from_secs(60)) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the update wedged: no answer in a minute"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the updating thread panicked"),
    }
}

/// What a refused update must leave as it was.
fn observed() -> (u32, Vec<String>, usize) {
    (liveapp::version(), liveapp::names(), dsu::status().versions.len())
}

/// Serves requests until three names are there, once per process.
fn three_names() {
    static SERVED: std::sync::Once = std::sync::Once::new();
    SERVED.call_once(|| {
        for name in ["ada", "bob", "cy"] {
            liveapp::serve(name);
        }
    });
}

/// Updates to v2 built with `features`, which must be refused, and returns why, after checking
/// that nothing the program shows changed.
fn refused(features: &[&str]) -> UpdateError {
    let patch = support::build("liveapp/v2", features);
    let before = observed();
    let error = within_a_minute(move || dsu::update(patch)).expect_err("the update is refused");
    assert_eq!(observed(), before, "a refused update changes nothing");
    error
}

fn transform_failed(error: UpdateError, global: &str) -> String {
    match error {
        UpdateError::TransformFailed { global: failed, message } if failed == global => message,
        other => panic!("refused for another reason than {global}'s transformer: {other}"),
    }
}

#[test]
fn a_transformer_reads_another_global_this_update_converts() {
    let _turn = turn();
    three_names();
    // `NAMES`'s transformer reads `COUNT` with its new type, then panics with what it saw.
    let message = transform_failed(refused(&["probe-converted"]), "liveapp::NAMES");
    assert!(message.starts_with("saw 3 (at src/lib.rs:"), "the live count, converted: {message}");
}

#[test]
fn a_transformer_calls_updateable_code_and_the_update_applies() {
    let _turn = turn();
    three_names();
    let v2 = support::build("liveapp/v2", &[]);
    let report = within_a_minute(move || dsu::update(v2)).expect("v2 applies");
    assert_eq!(report.replaced.len(), 5, "{report}");
    // The report and the status say what was converted, from what, and how many values.
    let converted = |converted: &[dsu::ConvertedGlobal]| -> Vec<(String, String, u64)> {
        let mut seen: Vec<(String, String, u64)> =
            converted.iter().map(|c| (c.global.to_string(), c.from.clone(), c.values)).collect();
        seen.sort();
        seen
    };
    let forward = [
        ("liveapp::COUNT Mutex<Count>".to_owned(), "Mutex<u64>".to_owned(), 1),
        ("liveapp::NAMES Mutex<Vec<Name>>".to_owned(), "Mutex<Vec<String>>".to_owned(), 3),
    ];
    assert_eq!(converted(&report.converted), forward, "{report}");
    assert!(report.to_string().contains("converted         liveapp::NAMES"), "{report}");
    let status = dsu::status();
    let in_status: Vec<dsu::ConvertedGlobal> =
        status.globals.iter().filter_map(|g| g.converted.clone()).collect();
    assert_eq!(converted(&in_status), forward, "{status}");
    assert!(in_status.iter().all(|c| c.version == report.version.id));
    assert!(status.to_string().contains("(converted by #"), "{status}");
    assert_eq!(liveapp::version(), 2);
    assert_eq!(liveapp::names(), ["ada (v2) at 3", "bob (v2) at 3", "cy (v2) at 3"]);
    assert_eq!(liveapp::serve("dee"), 4, "the converted count goes on");
    // A transaction begun in v2's code holds the rollback back: the error says which
    // release's code began it.
    let lingering = liveapp::LINGERING.with(|lingering| lingering.load(Ordering::Relaxed));
    let linger = thread::spawn(|| liveapp::linger(2_000));
    while liveapp::LINGERING.with(|lingering| lingering.load(Ordering::Relaxed)) == lingering {
        thread::sleep(Duration::from_millis(1));
    }
    let options = UpdateOptions::default().timeout(Duration::from_millis(100));
    let error = within_a_minute(move || dsu::rollback_with(&options)).expect_err("held back");
    let UpdateError::Timeout { transactions, .. } = &error else {
        panic!("refused for another reason than the transaction: {error}");
    };
    assert_eq!(transactions.len(), 1, "{error}");
    assert!(transactions[0].ends_with(" in liveapp@2.0.0"), "{error}");
    assert_eq!(linger.join().unwrap(), 2);
    let back = within_a_minute(dsu::rollback).expect("back to v1");
    let backward = [
        ("liveapp::COUNT Mutex<u64>".to_owned(), "Mutex<Count>".to_owned(), 1),
        ("liveapp::NAMES Mutex<Vec<String>>".to_owned(), "Mutex<Vec<Name>>".to_owned(), 4),
    ];
    assert_eq!(converted(&back.converted), backward, "{back}");
    assert!(dsu::status().globals.iter().all(|g| g.converted.is_none()), "back as it started");
    assert_eq!(liveapp::names(), ["ada (v2)", "bob (v2)", "cy (v2)", "dee"]);
    assert_eq!(liveapp::COUNT.with(|count| *count.lock().unwrap()), 4);
    // Back to three names, as every other test expects.
    liveapp::NAMES.with(|names| {
        *names.lock().unwrap() = vec!["ada".to_owned(), "bob".to_owned(), "cy".to_owned()]
    });
    liveapp::COUNT.with(|count| *count.lock().unwrap() = 3);
}

#[test]
fn an_update_or_rollback_inside_an_update_is_refused() {
    let _turn = turn();
    three_names();
    let message = transform_failed(refused(&["nested-update"]), "liveapp::NAMES");
    assert!(message.starts_with("rollback: inside_update, update: inside_update"), "{message}");
}

#[test]
fn a_panicking_or_poisoned_initialiser_refuses_the_update() {
    let _turn = turn();
    three_names();
    let reads_fragile = support::build("liveapp/v2", &["reads-fragile"]);
    let before = observed();
    let quiet = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));

    // `FRAGILE` was never used: the transformer that reads it makes it, and its initialiser
    // panics.
    liveapp::BREAK_FRAGILE.store(true, Ordering::Relaxed);
    let path = reads_fragile.clone();
    let error = within_a_minute(move || dsu::update(path)).expect_err("the initialiser panics");
    let UpdateError::InitialiserFailed { global, message } = &error else {
        panic!("refused for another reason than the initialiser: {error}");
    };
    assert_eq!(global, "liveapp::FRAGILE");
    assert!(message.contains("FRAGILE cannot be made now"), "{message}");
    assert_eq!(error.kind(), "initialiser_failed");
    assert_eq!(observed(), before);

    // Its initialiser panicked: the program's own next use panics too (its `Once` is poisoned),
    // and so does the update's.
    assert!(panic::catch_unwind(liveapp::fragile).is_err());
    let error = within_a_minute(move || dsu::update(reads_fragile)).expect_err("poisoned");
    assert!(matches!(&error, UpdateError::InitialiserFailed { .. }), "{error}");
    assert_eq!(observed(), before);
    panic::set_hook(quiet);
}

#[test]
fn an_update_that_times_out_runs_no_initialiser() {
    let _turn = turn();
    three_names();
    let v2 = support::build("liveapp/v2", &[]);
    let made = liveapp::FRAGILE_MADE.load(Ordering::Relaxed);
    let before = observed();
    // A transaction that has run `version`, which v2 replaces, holds the update back.
    let (end, ended) = mpsc::channel::<()>();
    let (opened, is_open) = mpsc::channel();
    let open = thread::spawn(move || {
        dsu::transaction(|| {
            liveapp::version();
            opened.send(()).unwrap();
            ended.recv().unwrap();
        })
    });
    is_open.recv().unwrap();
    let options = UpdateOptions::default().timeout(Duration::from_millis(100));
    let error = within_a_minute(move || dsu::update_with(v2, &options)).expect_err("times out");
    assert!(matches!(error, UpdateError::Timeout { .. }), "{error}");
    end.send(()).unwrap();
    open.join().unwrap();
    assert_eq!(liveapp::FRAGILE_MADE.load(Ordering::Relaxed), made, "no initialiser ran");
    assert_eq!(observed(), before);
}

#[test]
fn two_globals_of_one_path_stay_two_and_refuse_a_patch_that_has_them() {
    let _turn = turn();
    three_names();
    // Each function has its own `liveapp::TALLY`, of its own type.
    assert_eq!(liveapp::tally_words(2), 2);
    assert_eq!(liveapp::tally_bytes(3), 3);
    assert_eq!(liveapp::tally_words(2), 4);
    let error = refused(&["ambiguous"]);
    assert!(
        matches!(&error, UpdateError::AmbiguousItem { item } if item == "liveapp::TALLY"),
        "{error}"
    );
    assert_eq!(liveapp::tally_bytes(3), 6);
}

#[test]
fn lifetimes_and_whole_paths_leave_a_signature_the_same() {
    let _turn = turn();
    three_names();
    // v2's `serve` names a lifetime v1's leaves out; `fragile` and `FRAGILE` spell their types
    // out with whole paths. The plan matches them: the update gets as far as the probe.
    let error = refused(&["spelled-out", "probe-converted"]);
    assert!(transform_failed(error, "liveapp::NAMES").starts_with("saw 3"));
}

#[test]
fn a_panic_dsu_catches_is_reported_once_with_where_it_was_raised() {
    // A program of its own, whose standard error this test reads.
    let program = support::build_program("liveapp/v1");
    let probe = support::build("liveapp/v2", &["probe-converted"]);
    let output = std::process::Command::new(program).arg(&probe).output().expect("it runs");
    let (stdout, stderr) =
        (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("refused transform_failed: "), "{stdout}");
    assert!(lines[0].contains("panicked: saw 3 (at src/lib.rs:"), "{stdout}");
    assert_eq!(lines[1], "ada, bob, cy", "v1's names, as they were");
    assert!(!stderr.contains("panicked"), "the caught panic was printed: {stderr}");
}

#[test]
fn a_program_built_to_abort_on_panic_converts_only_when_told_to() {
    use std::os::unix::process::ExitStatusExt;
    let abort = [("CARGO_PROFILE_DEV_PANIC", "abort")];
    let program = support::build_program_with("liveapp/v1", &[], &abort);
    let v2 = support::build_with("liveapp/v2", &[], &abort);
    let probe = support::build_with("liveapp/v2", &["probe-converted"], &abort);
    let run = |patch: &std::path::Path, accept: bool| {
        let mut command = std::process::Command::new(&program);
        command.arg(patch);
        if accept {
            command.env("LIVEAPP_ACCEPT_ABORT", "1");
        }
        let output = command.output().expect("it runs");
        (output.status, String::from_utf8_lossy(&output.stdout).into_owned())
    };

    // A panic in a transformer could not be caught: refused, unless the caller accepts that.
    let (status, stdout) = run(&v2, false);
    assert!(status.success(), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("refused aborts_on_panic: "), "{stdout}");
    assert!(lines[0].contains("liveapp::NAMES"), "{stdout}");
    assert_eq!(lines[1], "ada, bob, cy");

    let (status, stdout) = run(&v2, true);
    assert!(status.success(), "{stdout}");
    assert_eq!(stdout, "ok liveapp@2.0.0\nada (v2) at 3, bob (v2) at 3, cy (v2) at 3\n");

    // Accepted, a transformer that panics ends the process, as the option says.
    let (status, stdout) = run(&probe, true);
    // `panic = "abort"` raises SIGABRT.
    assert_eq!(status.signal(), Some(6), "{status:?}: {stdout}");
    assert!(!stdout.contains("ok"), "{stdout}");
}
