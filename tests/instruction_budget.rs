//! A guard that times nothing: the instructions of dsu's hot paths, counted by callgrind in a
//! release build, against a fixed budget. Counts do not depend on what else the machine does,
//! so the test fails when a hot path grows (a lock, a system call, more work) and never
//! because the machine was busy.
//!
//! The fixture `tests/fixtures/budget` loops over one path at a time; the count of a loop of
//! 2n turns minus that of n turns, over n, is one turn's, without the start and end of the
//! process. Each path is measured as the instructions it adds to a baseline loop.
//!
//! When a change to a hot path is deliberate, the test prints the new counts: change the
//! budget here, in the same commit, and say why.

mod support;

use std::path::Path;
use std::process::Command;

/// Turns of the shorter loop.
const TURNS: u64 = 100_000;

/// `(path, loop, baseline loop, budget)`: the loop may add at most `budget` instructions a turn
/// to the baseline's.
const BUDGETS: [(&str, &str, &str, u64); 5] = [
    ("an updateable call, over a direct call", "updateable", "direct", 14),
    ("a transaction entered and left, over nothing", "transaction", "empty", 32),
    ("a transaction around an updateable call, over both apart", "transaction_call", "apart", 48),
    ("a global's `with` outside a transaction, over nothing", "global", "empty", 88),
    (
        "a transaction around a global's `with`, over the transaction",
        "global_in_transaction",
        "transaction",
        75,
    ),
];

#[test]
fn hot_paths_stay_within_their_instruction_budgets() {
    let found =
        Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(
        found,
        "valgrind is needed: run `bash scripts/setup.sh`, which installs Debian's valgrind \
         (`bash scripts/test.sh` runs it before the suite)"
    );
    let program = support::build_release_program("budget");
    let out = support::fixture_target().join("callgrind");
    std::fs::create_dir_all(&out).unwrap();
    let per_turn = |name: &str| per_turn(&program, &out, name);

    let empty = per_turn("empty");
    let direct = per_turn("direct");
    let updateable = per_turn("updateable");
    let transaction = per_turn("transaction");
    let count = |name: &str| match name {
        "empty" => empty,
        "direct" => direct,
        "updateable" => updateable,
        "transaction" => transaction,
        // A transaction and an updateable call, each counted alone.
        "apart" => transaction + updateable - empty,
        other => per_turn(other),
    };
    let mut over = Vec::new();
    for (path, looped, baseline, budget) in BUDGETS {
        let added = count(looped).saturating_sub(count(baseline));
        println!("{path}: {added} instructions (budget {budget})");
        if added > budget {
            over.push(format!("{path}: {added} instructions, over its budget of {budget}"));
        }
    }
    assert!(over.is_empty(), "hot paths grew:\n{}", over.join("\n"));
}

/// The instructions of one turn of the fixture's loop `name`.
fn per_turn(program: &Path, out: &Path, name: &str) -> u64 {
    let totals = |turns: u64| {
        let file = out.join(format!("{name}.{turns}"));
        let status = Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}", file.display()))
            .arg(program)
            .args([name, &turns.to_string()])
            .output()
            .expect("valgrind runs");
        assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
        let text = std::fs::read_to_string(&file).unwrap();
        let totals = text.lines().find_map(|line| line.strip_prefix("totals: "));
        totals.and_then(|n| n.trim().parse::<u64>().ok()).expect("callgrind writes its totals")
    };
    (totals(2 * TURNS) - totals(TURNS)) / TURNS
}
