//! Every change of a patch reaches the running program, or the update says why: a change of
//! plain code (a helper, a `const`, a `macro_rules!`, a trait impl, a file `include_str!`
//! reads) switches every updateable item whose code reaches it; one that code no update
//! switches still reaches (here the program's binary) is refused, naming the chain of plain
//! callers, unless the update is told to accept it; and plain state that switched code names
//! is refused as a fork. Each test runs `tests/fixtures/reachapp`'s program, a process of its
//! own, with the patches it applies.

mod support;

use std::process::Command;

/// Runs the program with `updates` (`PATCH` or `PATCH?ACCEPT`, see its `main.rs`) and returns
/// its output, a line each.
fn run(updates: &[String]) -> Vec<String> {
    let program = support::build_program("reachapp/v1");
    let output = Command::new(program).args(updates).output().expect("the program runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout.lines().map(str::to_owned).collect()
}

fn patch(features: &[&str]) -> String {
    support::build("reachapp/v2", features).display().to_string()
}

const V1: &str =
    "state greet=hello <ada> farewell=bye <bob> limit=10 loud=hey! show=card v1 banner=v1 banner \
                  count=2 loop=2 plain=plain v1";

#[test]
fn a_change_of_plain_code_reaches_every_updateable_caller() {
    let lines = run(&[patch(&["reaching"])]);
    let mut reached: Vec<&str> =
        lines.iter().filter_map(|line| line.strip_prefix("reached ")).collect();
    reached.sort_unstable();
    assert_eq!(
        reached,
        [
            "reachapp::banner via reachapp::banner::text",
            "reachapp::farewell via reachapp::decorate",
            "reachapp::greet via reachapp::decorate",
            "reachapp::limit via reachapp::LIMIT",
            "reachapp::loud via reachapp::shout!",
            "reachapp::show via <reachapp::Card as Render>::render",
        ],
        "{lines:#?}"
    );
    assert_eq!(lines[1], V1);
    let (printed, state) = &steps(&lines)[0];
    assert_eq!(printed[0], "ok reachapp@2.0.0");
    assert_eq!(
        *state,
        "state greet=hello [ada] farewell=bye [bob] limit=20 loud=hey!! show=card v2 \
         banner=v2 banner count=2 loop=2 plain=plain v1",
        "a helper, a const, a macro, a trait impl and an included file each reach: {lines:#?}"
    );
}

/// The lines each step printed, and the state after it, from the output of `run`.
fn steps(lines: &[String]) -> Vec<(Vec<&str>, &str)> {
    let mut steps = Vec::new();
    let mut printed = Vec::new();
    // After `hits` and the first state.
    for line in &lines[2..] {
        match line.starts_with("state ") {
            true => steps.push((std::mem::take(&mut printed), line.as_str())),
            false => printed.push(line.as_str()),
        }
    }
    steps
}

#[test]
fn a_check_is_the_plan_of_the_update_that_follows_and_changes_nothing() {
    let reaching = patch(&["reaching"]);
    let refusals = patch(&["refusals"]);
    let lines = run(&[
        format!("check:{refusals}"),
        "open".to_owned(),
        format!("check:{reaching}"),
        "close".to_owned(),
        reaching,
    ]);
    let steps = steps(&lines);
    // Refused as the update would be, with the same error, and nothing changed.
    let (refused, state) = &steps[0];
    assert!(refused[0].starts_with("refused unreached: reachapp::plain_only, reachapp::tally"));
    assert_eq!(*state, V1);
    // With a transaction open that called `greet`, which the update switches.
    let (checked, state) = &steps[2];
    assert_eq!(*state, V1, "a check switches nothing");
    assert_eq!(checked[0], "would reachapp@2.0.0", "{lines:#?}");
    let (waits, planned): (Vec<&str>, Vec<&str>) =
        checked[1..].iter().partition(|line| line.starts_with("waits for "));
    assert_eq!(waits.len(), 1, "the open transaction: {lines:#?}");
    assert!(waits[0].contains("src/main.rs"), "where it began: {waits:?}");
    let (done, _) = &steps[4];
    assert_eq!(done[0], "ok reachapp@2.0.0", "{lines:#?}");
    assert_eq!(planned, done[1..], "the check's plan is the update's report");
    // Two patches checked, each loaded once: the update switched to the image its check
    // loaded, instead of loading a third.
    assert_eq!(
        lines.last().map(String::as_str),
        Some("images 2"),
        "the update switched to the image the check loaded: {lines:#?}"
    );
}

#[test]
fn an_edit_inside_cfg_test_is_no_change() {
    // Its module holds a `Display` impl that calls a helper: were the `cfg` not evaluated,
    // the edit would be a change that plain code reaches, and refused.
    let lines = run(&[patch(&[])]);
    assert_eq!(lines[1..], [V1, "ok reachapp@2.0.0", V1, "hits 2", "images 1"], "{lines:#?}");
}

#[test]
fn a_change_the_binary_reaches_is_refused_then_accepted_with_the_option() {
    let refusals = patch(&["refusals"]);
    let lines = run(&[
        refusals.clone(),
        format!("{refusals}?unreached"),
        format!("{refusals}?unreached,forked"),
    ]);
    assert_eq!(lines[0], "hits 1");
    // `tally` is called by the updateable `count` and by the binary's loop, through the plain
    // `plain_loop`; `plain_only` only by the binary.
    let unreached = &lines[2];
    assert!(unreached.starts_with("refused unreached: "), "{lines:#?}");
    for named in [
        "reachapp::tally (the program's binary: {binary}::main -> reachapp::state -> \
         reachapp::plain_loop -> reachapp::tally), make one of reachapp::state, \
         reachapp::plain_loop, reachapp::tally updateable",
        "reachapp::plain_only (the program's binary: {binary}::main -> reachapp::state -> \
         reachapp::plain_only)",
        "UpdateOptions::accept_unreached(true)",
    ] {
        assert!(unreached.contains(named), "{named} in {unreached}");
    }
    assert_eq!(lines[3], V1, "a refused update changes nothing");
    // Accepted: `hit`'s new code names the plain static `HITS`, which the patch has its own
    // copy of.
    assert!(
        lines[4].starts_with(
            "refused forked_state: the update switches code that names plain state the running \
             program has (reachapp::HITS, named by reachapp::hit)"
        ),
        "{lines:#?}"
    );
    assert_eq!(lines[5], V1);
    assert_eq!(
        lines[6..],
        [
            "ok reachapp@2.0.0",
            "reached reachapp::count via reachapp::tally",
            "unreached reachapp::plain_only from the program's binary: \
             {binary}::main>reachapp::state>reachapp::plain_only",
            "unreached reachapp::tally from the program's binary: \
             {binary}::main>reachapp::state>reachapp::plain_loop>reachapp::tally",
            "forked reachapp::HITS by reachapp::hit",
            // `count` runs the new `tally`; the loop and `plain_only` stay old, as reported.
            "state greet=hello <ada> farewell=bye <bob> limit=10 loud=hey! show=card v1 banner=v1 banner count=3 \
             loop=2 plain=plain v1",
            // The patch's `HITS` started at 0: the running one had counted 1.
            "hits 100",
            "images 1",
        ],
        "{lines:#?}"
    );
}
