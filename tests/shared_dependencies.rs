//! End to end: a tokio program that shares its dependencies with its patches
//! (`tests/fixtures/tokioapp`, set up as `docs/sharing.md` says) runs as a process of its own,
//! and patch code acts on the program's copy of each: `tokio::spawn` and `tokio::time::sleep`
//! on its runtime, `tracing` and `log` events reach its subscriber and logger, a dependency's
//! lazy static and thread-locals are the program's. Patches that would not act on the
//! program's copies, or on code as it was built for them, are refused and change nothing.

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The running program, driven through its stdin.
struct Program {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// Dropped with the program: tells the watchdog the test is over.
    _done: mpsc::Sender<()>,
}

/// How long a test may drive the program before the watchdog kills it: a program stuck in an
/// update then ends the test's wait for its answer, which fails, instead of hanging it.
const WATCHDOG: Duration = Duration::from_secs(300);

impl Program {
    fn start(program: &Path) -> Program {
        let mut child = Command::new(program)
            .env("LD_LIBRARY_PATH", support::std_library_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the program starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (done, over) = mpsc::channel::<()>();
        let pid = child.id().to_string();
        std::thread::spawn(move || {
            if over.recv_timeout(WATCHDOG) == Err(mpsc::RecvTimeoutError::Timeout) {
                let _ =
                    Command::new("sh").args(["-c", r#"kill -s KILL "$1""#, "sh", &pid]).status();
            }
        });
        Program { child, stdin, stdout, _done: done }
    }

    fn ask(&mut self, command: &str) -> String {
        writeln!(self.stdin, "{command}").unwrap();
        let mut answer = String::new();
        self.stdout.read_line(&mut answer).unwrap();
        assert!(!answer.is_empty(), "the program ended at `{command}`");
        answer.trim_end().to_owned()
    }

    fn update(&mut self, patch: &Path) -> String {
        self.ask(&format!("update {}", patch.display()))
    }

    /// What `tokioapp::check` returned and what the program saw, by name.
    fn check(&mut self) -> HashMap<String, String> {
        let answer = self.ask("check");
        let fields = answer.strip_prefix("facts\t").unwrap_or_else(|| panic!("{answer}"));
        fields
            .split('\t')
            .map(|field| {
                let (key, value) = field.split_once('=').unwrap_or_else(|| panic!("{field}"));
                (key.to_owned(), value.to_owned())
            })
            .collect()
    }
}

/// The release of `package` in the program's lock file.
fn locked_version(package: &str) -> String {
    let lock = support::root().join("tests/fixtures/tokioapp/v1/Cargo.lock");
    let lock = std::fs::read_to_string(lock).unwrap();
    let entry = format!("name = \"{package}\"\nversion = \"");
    let at =
        lock.find(&entry).unwrap_or_else(|| panic!("{package} is in the lock file")) + entry.len();
    lock[at..].split('"').next().unwrap().to_owned()
}

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn patch_code_acts_on_the_programs_copy_of_every_dependency() {
    let run = support::fixture_target().join("tokioapp-run");
    let _ = std::fs::remove_dir_all(&run);
    let program = support::build_sharing("tokioapp", 1, false, &run);
    let v2 = support::build_sharing("tokioapp", 2, false, &run);
    let other_release = support::build_sharing("tokioapp", 3, true, &run);
    let added_dependency = support::build_sharing("tokioapp", 4, false, &run);
    let sibling_static = support::build_sharing("tokioapp", 5, false, &run);
    let shared_path_crate = support::build_sharing("tokioapp", 6, false, &run);
    let not_shared = support::build_sharing("tokioapp", 7, false, &run);
    let fastrand = locked_version("fastrand");

    let mut program = Program::start(&program);
    let v1 = program.check();
    assert_eq!((v1["version"].as_str(), v1["core"].as_str()), ("1", "core v1"), "{v1:?}");

    // Built against another release of a dependency the program shares: refused by name, with
    // both releases.
    let refusal = program.update(&other_release);
    assert!(refusal.starts_with("refused shared_dependency_changed "), "{refusal}");
    let named = format!("fastrand 2.1.1 (the program shares {fastrand})");
    assert!(refusal.contains(&named), "{refusal}");
    // Using the code of a path dependency the program shares, which an edit would not reach,
    // named by its library (`hits`, of the package tokioapp-counters).
    let refusal = program.update(&shared_path_crate);
    assert!(refusal.starts_with("refused shared_path_dependency "), "{refusal}");
    assert!(refusal.contains("uses hits from the program's shared libraries"), "{refusal}");
    // Not linking the shared crate, it carries copies of its own of every dependency, fastrand
    // too, whose only state is a thread-local.
    let refusal = program.update(&not_shared);
    let copies = "carries its own copy of crossbeam_epoch, fastrand, log, tokio, tracing_core,";
    assert!(refusal.starts_with("refused copied_dependencies "), "{refusal}");
    assert!(refusal.contains(copies), "{refusal}");
    assert_eq!(program.check(), v1, "a refused patch changed the program");

    // The program's runtime, subscriber, logger, lazy static and thread-locals, from patch code;
    // the sibling crate's change reaches the program, and its tracing callsites are its own.
    assert_eq!(
        program.update(&v2),
        "updated tokioapp@1.0.0 replaced=tokioapp::check,tokioapp_core::greeting"
    );
    let v2 = program.check();
    assert_eq!(v2["version"], "2", "{v2:?}");
    assert_eq!(v2["core"], "core v2", "{v2:?}");
    let events: Vec<&str> = v2["events"].split('|').collect();
    let expected =
        ["from the patch", "greeting from core v2", "from the patch's task, after its sleep"];
    assert_eq!(events, expected, "{v2:?}");
    assert_eq!(v2["logs"], "1", "{v2:?}");
    assert_eq!(v2["collector"], v2["program_collector"], "crossbeam-epoch's lazy collector");
    assert_eq!(v2["pinned"], "true", "crossbeam-epoch's thread-local guard");
    assert_eq!(v2["rand"], v2["expected_rand"], "fastrand's thread-local generator");
    assert_eq!(v2["permits"], "3", "tokio code the program never calls");

    // A dependency only the patch has comes as a copy of its own.
    let answer = program.update(&added_dependency);
    assert!(answer.starts_with("updated tokioapp@1.0.0 replaced=tokioapp::check"), "{answer}");
    let v4 = program.check();
    assert_eq!((v4["version"].as_str(), v4["itoa"].as_str()), ("4", "1234"), "{v4:?}");
    assert_eq!(v4["rand"], v4["expected_rand"], "{v4:?}");

    // A plain static in the sibling crate is the patch's own, fresh, as a static of the crate
    // itself would be.
    let answer = program.update(&sibling_static);
    assert!(answer.contains("replaced=tokioapp::check,tokioapp_core::greeting"), "{answer}");
    assert_eq!(program.check()["core"], "core v5, greeted 1 times");
    assert_eq!(program.check()["core"], "core v5, greeted 2 times");
}
