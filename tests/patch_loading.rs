//! A patch reaches the dynamic loader through no path another local user can reach. A root
//! process that copied its patch to a file in a shared directory, and loaded that file by its
//! path, would let the owner of the directory overwrite any of root's files (with a symlink
//! where the copy goes) or run a library of their own as root (with a file swapped in between
//! the write and the load).
//!
//! The loader now maps a patch from a sealed memfd: `a_patch_is_mapped_from_its_sealed_memfd`
//! checks that for every user. The two attacks are kept as regression tests of the copy
//! directory the loader used to write (`$TMPDIR/dsu-<pid>/<n>-<file name>`): each plays the
//! other user as `nobody` through `setpriv`, so it runs only as root, as CI does; as another
//! user it says so and passes.

mod support;

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

/// The tests share one process, and so one running program: one at a time.
static PROGRAM: Mutex<()> = Mutex::new(());

/// The last copy number the attacker plants an entry for: more copies than one test process
/// ever loads.
const LAST_COPY: u32 = 15;

/// Makes `$dir` and, for every copy number, a symlink to `$target` where the copy would go.
const PLANT_SYMLINKS: &str = r#"
dir=$1 name=$2 target=$3 last=$4
mkdir "$dir" || exit 1
n=0
while [ "$n" -le "$last" ]; do
    ln -s "$target" "$dir/$n-$name" || exit 1
    n=$((n + 1))
done
echo ready
"#;

/// Makes `$dir` and, for every copy number, a FIFO where the copy would go, with a reader that
/// puts `$evil` at that path once the writer has opened it. Opening a FIFO to read waits for
/// its writer, and the writer's megabytes wait in the 64 KiB pipe until the reader drains
/// them: by the time the write returns, the path is the attacker's library.
const SWAP_IN_LIBRARY: &str = r#"
dir=$1 name=$2 evil=$3 last=$4
mkdir "$dir" || exit 1
n=0
while [ "$n" -le "$last" ]; do
    copy="$dir/$n-$name"
    mkfifo "$copy" || exit 1
    (
        exec 3<"$copy"
        cp "$evil" "$dir/.evil-$n" && mv "$dir/.evil-$n" "$copy"
        cat <&3 >/dev/null
    ) &
    n=$((n + 1))
done
echo ready
wait
"#;

/// A symlink where the copy of the patch would go points at a file only root may write: the
/// update must leave that file as it was, and still apply.
#[test]
fn a_symlink_in_the_copy_directory_overwrites_nothing() {
    if !as_root() {
        return;
    }
    let v2 = support::build("app/v2", &[]);
    let _program = PROGRAM.lock().unwrap_or_else(|e| e.into_inner());
    let victim_dir = fresh_dir("victim", 0o700);
    let victim = victim_dir.path.join("secret");
    let secret = b"root's own file\n";
    fs::write(&victim, secret).unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o600)).unwrap();

    let copies = Removed::before_and_after(copy_dir());
    let attacker = Attacker::start(PLANT_SYMLINKS, &copies.path, &v2, &victim);
    let updated = dsu::update(&v2);
    drop(attacker);
    let version = app::version();
    if updated.is_ok() {
        dsu::rollback().expect("back to v1");
    }

    let now = fs::read(&victim).unwrap();
    let what = if now == fs::read(&v2).unwrap() { ", the patch" } else { "" };
    assert!(
        now == secret,
        "the update wrote through a symlink in {} to {}: it now holds {} bytes{what}",
        copies.path.display(),
        victim.display(),
        now.len(),
    );
    updated.expect("v2 applies");
    assert_eq!(version, 2);
}

/// The attacker swaps its own library (app v2 with a constructor that writes a marker) in
/// where the copy of the genuine v2 was written, before the copy is loaded: the attacker's
/// code must never run, and an update that applies runs the genuine v2.
#[test]
fn a_library_swapped_in_before_the_load_never_runs() {
    if !as_root() {
        return;
    }
    let evil = support::build("app/v2", &["marker"]);
    let v2 = support::build("app/v2", &[]);
    let _program = PROGRAM.lock().unwrap_or_else(|e| e.into_inner());
    let marker = support::marker("app-v2", std::process::id());
    let _ = fs::remove_file(&marker);
    // target/ may be closed to nobody: the attacker reads its library from a directory of its
    // own.
    let shared = fresh_dir("attacker", 0o755);
    let evil_copy = shared.path.join("evil.so");
    fs::copy(&evil, &evil_copy).unwrap();
    fs::set_permissions(&evil_copy, fs::Permissions::from_mode(0o644)).unwrap();

    let copies = Removed::before_and_after(copy_dir());
    let attacker = Attacker::start(SWAP_IN_LIBRARY, &copies.path, &v2, &evil_copy);
    let updated = dsu::update(&v2);
    drop(attacker);
    let version = app::version();
    if updated.is_ok() {
        dsu::rollback().expect("back to v1");
    }

    if marker.exists() {
        let _ = fs::remove_file(&marker);
        let outcome = match &updated {
            Ok(report) => format!("applied {}", report.version.label),
            Err(error) => format!("was refused: {error}"),
        };
        panic!(
            "the attacker's library ran inside this process: its constructor wrote {}; the \
             update {outcome}",
            marker.display(),
        );
    }
    if updated.is_ok() {
        assert_eq!(version, 2, "the update applied, so the genuine v2 runs");
    }
}

/// The patch's image is mapped from the memfd the loader sealed, and from no file a path
/// names: no one can change it between the checks and the load, nor after.
#[test]
fn a_patch_is_mapped_from_its_sealed_memfd() {
    let v2 = support::build("app/v2", &[]);
    let _program = PROGRAM.lock().unwrap_or_else(|e| e.into_inner());
    let updated = dsu::update(&v2);
    let maps = fs::read_to_string("/proc/self/maps").unwrap();
    if updated.is_ok() {
        dsu::rollback().expect("back to v1");
    }
    updated.expect("v2 applies");
    let name = v2.file_name().unwrap().to_str().unwrap();
    let mapped: Vec<&str> = maps.lines().filter(|line| line.contains(name)).collect();
    assert!(!mapped.is_empty(), "v2's image is not mapped:\n{maps}");
    for line in mapped {
        assert!(line.ends_with(&format!("/memfd:dsu:{name} (deleted)")), "{line}");
    }
}

/// The loader takes a library a patch needs from those loaded only when one of them answers
/// to the name; for any other name it searches, first in the directories of the patch's own
/// `DT_RPATH`. Here `libplanted.so` is, in the program's `LD_LIBRARY_PATH`, a link to the
/// `libgcc_s.so.1` it has loaded, and the patch's `DT_RPATH` names a directory where another
/// library of that name waits, with a constructor that writes a marker.
///
/// The check used to ask the loader, from the program's side, whether it had the library: the
/// loader searched the program's directories, found the link, and added the name to libgcc's,
/// so that the patch then found libgcc too. It applied, and the patch's safety rested on that
/// side effect of the question. A needed name must now be the soname of a loaded library: the
/// patch is refused, the loader never searches, and the planted library never runs.
#[test]
fn a_library_loaded_under_another_name_is_refused_before_any_code_runs() {
    let planted = support::fixture_target().join("planted");
    let alias = support::fixture_target().join("alias");
    let program = support::fixture_target().join("alias-program");
    for dir in [&planted, &alias, &program] {
        let _ = fs::remove_dir_all(dir);
        fs::create_dir_all(dir).unwrap();
    }
    fs::copy(support::build("app/v2", &["marker"]), planted.join("libplanted.so")).unwrap();
    let libgcc = support::loaded_library("libgcc_s.so.1");
    std::os::unix::fs::symlink(libgcc, alias.join("libplanted.so")).unwrap();
    let v2 = fs::read(support::build("app/v2", &["planted-rpath"])).unwrap();
    let patch = program.join("needs-planted.so");
    fs::write(&patch, support::renamed(v2, "libgcc_s.so.1", "libplanted.so")).unwrap();
    fs::copy(support::build_program("app/v1"), program.join("app")).unwrap();

    let child = Command::new(program.join("app"))
        .args([Path::new("update"), &patch])
        .arg("version")
        .env("LD_LIBRARY_PATH", &alias)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let run = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}{}", String::from_utf8_lossy(&run.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("refused unloaded_library: "), "{stdout}");
    assert!(lines[0].contains("libplanted.so"), "{stdout}");
    assert_eq!(lines[1], "1", "version 1 still runs");
    let marker = support::marker("app-v2", pid);
    assert!(!marker.exists(), "the planted library ran: {}", marker.display());
}

/// Whether the test runs as root: only root can play another user.
fn as_root() -> bool {
    let uid = Command::new("id").arg("-u").output().expect("`id` runs");
    let root = String::from_utf8_lossy(&uid.stdout).trim() == "0";
    if !root {
        eprintln!("skipped: this test plays another user with setpriv, which only root can do");
    }
    root
}

/// The directory the loader copied this process's patches to.
fn copy_dir() -> PathBuf {
    std::env::temp_dir().join(format!("dsu-{}", std::process::id()))
}

/// An empty directory of this process's under the temporary directory, with `mode`.
fn fresh_dir(name: &str, mode: u32) -> Removed {
    let dir = Removed::before_and_after(
        std::env::temp_dir().join(format!("dsu-test-{}-{name}", std::process::id())),
    );
    fs::create_dir(&dir.path).unwrap();
    fs::set_permissions(&dir.path, fs::Permissions::from_mode(mode)).unwrap();
    dir
}

/// A directory removed when made (a previous run may have left it) and when dropped.
struct Removed {
    path: PathBuf,
}

impl Removed {
    fn before_and_after(path: PathBuf) -> Removed {
        let _ = fs::remove_dir_all(&path);
        Removed { path }
    }
}

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// A script run as `nobody` in a process group of its own, which is killed when dropped.
struct Attacker {
    shell: Child,
}

impl Attacker {
    /// Runs `script` with the directory to plant in, the patch's file name, a path and the
    /// last copy number, and returns once it has printed `ready`.
    fn start(script: &str, dir: &Path, patch: &Path, path: &Path) -> Attacker {
        let name = patch.file_name().unwrap();
        let mut shell = Command::new("setpriv")
            .args(["--reuid=nobody", &format!("--regid={}", nobody_group()), "--clear-groups"])
            .args(["sh", "-c", script, "sh"])
            .args([dir.as_os_str(), name, path.as_os_str()])
            .arg(LAST_COPY.to_string())
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("setpriv runs");
        let mut line = String::new();
        BufReader::new(shell.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let attacker = Attacker { shell };
        assert_eq!(line.trim(), "ready", "the attacker could not plant its entries");
        attacker
    }
}

impl Drop for Attacker {
    fn drop(&mut self) {
        // The group's leader is the shell: its pid is the group's id.
        // The shell's builtin `kill`: a machine without procps has no `kill` command. A script
        // that has finished has left no group: its kill fails, quietly.
        let _ = Command::new("sh")
            .args(["-c", r#"kill -s KILL -- "-$1""#, "sh", &self.shell.id().to_string()])
            .stderr(Stdio::null())
            .status();
        // Reaped if it ends; a shell that outlives the kill is left, not waited for forever.
        for _ in 0..100 {
            if self.shell.try_wait().is_ok_and(|status| status.is_some()) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

/// `nogroup`, or nobody's own group where there is no `nogroup`.
fn nobody_group() -> String {
    let nogroup = Command::new("getent").args(["group", "nogroup"]).output().expect("getent runs");
    if nogroup.status.success() {
        return "nogroup".to_owned();
    }
    let gid = Command::new("id").args(["-g", "nobody"]).output().expect("`id` runs");
    String::from_utf8(gid.stdout).unwrap().trim().to_owned()
}
