//! Builds the fixture patches with cargo, the way a user builds a new version.
//!
//! Fixtures build in a target directory of their own, so the nested cargo never waits for the
//! lock of the `cargo test` that runs it; all tests share it, so dependencies build once.
//! Every version of a fixture writes the same `lib<name>.so`, so a build and the copy of its
//! output happen under a file lock.
#![allow(dead_code)] // each test binary uses part of it

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where fixtures build.
pub(crate) fn fixture_target() -> PathBuf {
    root().join("target").join("dsu-fixtures")
}

/// Builds `tests/fixtures/<fixture>` as a cdylib with `features` and returns a copy of the
/// library named after the fixture and features.
pub(crate) fn build(fixture: &str, features: &[&str]) -> PathBuf {
    build_with(fixture, features, &[])
}

/// As `build`, with extra environment for cargo (and so for rustc).
pub(crate) fn build_with(fixture: &str, features: &[&str], env: &[(&str, &str)]) -> PathBuf {
    let dir = fixture_dir(fixture);
    let (target, flags) = target_for(env);
    let _lock = build_lock();
    touch_sources(&dir);
    let features = features.join(",");
    let mut args = vec!["--lib"];
    if !features.is_empty() {
        args.extend(["--features", features.as_str()]);
    }
    cargo_build(&dir, &target, &args, env);

    let label = format!(
        "{}{}{}",
        fixture.replace('/', "-"),
        if features.is_empty() { "" } else { "+" },
        features.replace(',', "+")
    )
    .replace('/', "-");
    let copy = fixture_target()
        .join("patches")
        .join(format!("{label}{}{flags}.so", if env.is_empty() { "" } else { "-" }));
    copy_library(&target.join("debug"), &dir, &copy)
}

/// The target directory of a build with extra environment `env`, and the names of its
/// variables joined, which the copies' names carry. Other flags rebuild every dependency: such
/// builds are kept apart, each set of variables in a directory of its own, so that two tests do
/// not rebuild each other's.
fn target_for(env: &[(&str, &str)]) -> (PathBuf, String) {
    let flags: Vec<&str> = env.iter().map(|(key, _)| *key).collect();
    let flags = flags.join("+");
    match env.is_empty() {
        true => (fixture_target(), flags),
        false => (fixture_target().join("other-flags").join(&flags), flags),
    }
}

/// Builds `tests/fixtures/<fixture>` as a cdylib in release mode (`cargo build --release
/// --lib`) and returns a copy of the library named after the fixture, with a `-release`
/// suffix. For benchmarks, whose patches should be optimized like the program.
pub(crate) fn build_release(fixture: &str) -> PathBuf {
    build_release_with(fixture, &[])
}

/// As `build_release`, with environment for cargo that the fixture's build script reads (not
/// compiler flags: the build must stay the program's); the copy's name carries its values.
pub(crate) fn build_release_with(fixture: &str, env: &[(&str, &str)]) -> PathBuf {
    let dir = fixture_dir(fixture);
    let target = fixture_target();
    let _lock = build_lock();
    touch_sources(&dir);
    cargo_build(&dir, &target, &["--release", "--lib"], env);

    let values: String = env.iter().map(|(key, value)| format!("-{key}={value}")).collect();
    let name = format!("{}-release{values}.so", fixture.replace('/', "-"));
    copy_library(&target.join("release"), &dir, &target.join("patches").join(name))
}

/// Builds the program of `tests/fixtures/<fixture>` in release mode (`cargo build --release`)
/// and returns the path of its binary, named after the fixture.
pub(crate) fn build_release_program(fixture: &str) -> PathBuf {
    let dir = fixture_dir(fixture);
    let target = fixture_target();
    let _lock = build_lock();
    cargo_build(&dir, &target, &["--release"], &[]);
    target.join("release").join(lib_name(&dir))
}

/// Builds `examples/<example>/v<version>` the way its README says, in the fixtures' target
/// directory: with the lock file of version 1 (a patch must resolve its dependencies as the
/// running program did), as the program for version 1 (`cargo build`), as a patch for the
/// others (`cargo build --lib`). Returns the program, or a copy of the patch in `patches`.
pub(crate) fn build_example(example: &str, version: u32, patches: &Path) -> PathBuf {
    let examples = root().join("examples").join(example);
    let dir = examples.join(format!("v{version}"));
    let target = fixture_target();
    let _lock = build_lock();
    let first = examples.join("v1").join("Cargo.lock");
    if !first.exists() {
        fs::copy(root().join("Cargo.lock"), &first).unwrap();
    }
    touch_sources(&dir);
    if version == 1 {
        cargo_build(&dir, &target, &[], &[]);
        return target.join("debug").join(lib_name(&dir));
    }
    fs::copy(&first, dir.join("Cargo.lock")).unwrap();
    cargo_build(&dir, &target, &["--lib"], &[]);
    let copy = patches.join(format!("{}-{version}.so", lib_name(&dir)));
    copy_library(&target.join("debug"), &dir, &copy)
}

/// Builds version `version` of `tests/fixtures/<fixture>`, a program that shares its
/// dependencies with its patches (`docs/sharing.md`): version 1 as the program (`cargo build`),
/// whose executable and shared library are copied to `run`; the others as patches (`cargo
/// build --lib`), copied to `run` as `v<version>.so`. Every version builds with version 1's
/// lock file, as a patch must. Their flags (`-C prefer-dynamic`) rebuild every dependency, so
/// they build in a target directory of their own, and a version whose shared crate locks other
/// releases than the program's (`own_target`) in one of its own: the shared library's file name has no
/// hash, and cargo would not rebuild a version it thinks fresh over another's.
pub(crate) fn build_sharing(fixture: &str, version: u32, own_target: bool, run: &Path) -> PathBuf {
    build_sharing_at(&fixture_dir(fixture), version, own_target, run, run)
}

/// As [`build_sharing`], for `examples/<example>`, whose patches are copied to `patches` as
/// `v<version>.so`.
pub(crate) fn build_sharing_example(
    example: &str,
    version: u32,
    run: &Path,
    patches: &Path,
) -> PathBuf {
    build_sharing_at(&root().join("examples").join(example), version, false, run, patches)
}

fn build_sharing_at(
    fixture_root: &Path,
    version: u32,
    own_target: bool,
    run: &Path,
    patches: &Path,
) -> PathBuf {
    let fixture = fixture_root.file_name().unwrap().to_str().unwrap();
    let dir = fixture_root.join(format!("v{version}"));
    let mut target = fixture_target().join("sharing");
    if own_target {
        target = target.join(format!("{fixture}-v{version}"));
    }
    let _lock = build_lock();
    let first = fixture_root.join("v1").join("Cargo.lock");
    if !first.exists() {
        fs::copy(root().join("Cargo.lock"), &first).unwrap();
    }
    if version != 1 {
        fs::copy(&first, dir.join("Cargo.lock")).unwrap();
    }
    // The versions' sibling crates are packages of one name at one path relative to their
    // workspace, which cargo builds to one file: touched, this version's is the one built.
    touch(&lib_source(&dir));
    touch_tree(&dir);
    fs::create_dir_all(run).unwrap();
    let out = target.join("debug");
    let name = lib_name(&dir);
    if version == 1 {
        cargo_build(&dir, &target, &[], &[]);
        // The shared crate is `shared/` beside the versions; other programs' shared libraries
        // build into the same directory.
        let shared = format!("lib{}.so", lib_name(&fixture_root.join("shared")));
        fs::copy(out.join(&shared), run.join(&shared)).unwrap();
        fs::copy(out.join(&name), run.join(&name)).unwrap();
        return run.join(name);
    }
    cargo_build(&dir, &target, &["--lib"], &[]);
    fs::create_dir_all(patches).unwrap();
    let copy = patches.join(format!("v{version}.so"));
    fs::copy(out.join(format!("lib{name}.so")), &copy).unwrap();
    copy
}

/// Asserts that the Redis clients the tests of the Redis-speaking examples drive are here.
pub(crate) fn require_redis_tools() {
    for tool in ["redis-cli", "redis-benchmark"] {
        let found = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
        assert!(
            found,
            "{tool} is needed: run `bash scripts/setup.sh`, which installs Debian's redis-tools \
             (`bash scripts/test.sh` runs it before the suite)"
        );
    }
}

/// A fresh `<fixture target>/<name>` for a server's run, and in it the directory it loads
/// patches from, which no one else may write to. Returns both.
pub(crate) fn fresh_run(name: &str) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let run = fixture_target().join(name);
    let _ = fs::remove_dir_all(&run);
    let patches = run.join("patches");
    fs::create_dir_all(&patches).unwrap();
    fs::set_permissions(&patches, fs::Permissions::from_mode(0o700)).unwrap();
    (run, patches)
}

/// Sends `request` on a connection of its own to the server on 127.0.0.1:`port`, and returns
/// everything it answers until it closes the connection (within 30 s). A server that cuts the
/// connection off while the request is still being written answers what it wrote before.
pub(crate) fn raw(port: u16, request: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let _ = stream.write_all(request);
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    String::from_utf8_lossy(&reply).into_owned()
}

/// The directory of the standard library's shared object, which a program built with
/// `-C prefer-dynamic` loads (cargo puts it on the search path of what it runs).
pub(crate) fn std_library_dir() -> PathBuf {
    let sysroot = Command::new("rustc").args(["--print", "sysroot"]).output().unwrap();
    let host = Command::new("rustc").args(["--print", "host-tuple"]).output().unwrap();
    let text = |out: std::process::Output| String::from_utf8(out.stdout).unwrap().trim().to_owned();
    PathBuf::from(text(sysroot)).join("lib").join("rustlib").join(text(host)).join("lib")
}

fn fixture_dir(fixture: &str) -> PathBuf {
    root().join("tests").join("fixtures").join(fixture)
}

/// The lock every build and the copy of its output happen under, held until it is dropped.
fn build_lock() -> File {
    fs::create_dir_all(fixture_target()).unwrap();
    let lock = File::create(fixture_target().join(".build-lock")).unwrap();
    lock.lock().unwrap();
    lock
}

/// `cargo build --quiet <args>` of the crate in `dir`, into `target`, with `env`.
fn cargo_build(dir: &Path, target: &Path, args: &[&str], env: &[(&str, &str)]) {
    let status = Command::new(env!("CARGO"))
        .current_dir(dir)
        .args(["build", "--quiet"])
        .args(args)
        .env("CARGO_TARGET_DIR", target)
        .envs(env.iter().copied())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building {} {args:?} failed", dir.display());
}

/// Copies the cdylib that the crate in `dir` built into `out` (a profile's directory) to
/// `copy`, and returns `copy`. The copy is renamed into place whole: another test may be
/// reading the copy an earlier build of the same variant made, outside the build lock.
fn copy_library(out: &Path, dir: &Path, copy: &Path) -> PathBuf {
    fs::create_dir_all(copy.parent().unwrap()).unwrap();
    let partial = copy.with_extension("so.partial");
    fs::copy(out.join(format!("lib{}.so", lib_name(dir))), &partial).unwrap();
    fs::rename(&partial, copy).unwrap();
    copy.to_owned()
}

/// Every version writes the same unhashed `lib<name>.so`, and cargo does not rebuild a version
/// it thinks fresh even when another version overwrote that file: touching the sources makes
/// this version's library the one written.
fn touch_sources(dir: &Path) {
    touch(&dir.join("src").join("lib.rs"));
}

fn touch(file: &Path) {
    File::options()
        .append(true)
        .open(file)
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
}

/// Touches every Rust source file under `dir`.
fn touch_tree(dir: &Path) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            touch_tree(&path);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            touch(&path);
        }
    }
}

/// The library's root source file of the package in `dir`: its `[lib] path`, or `src/lib.rs`.
fn lib_source(dir: &Path) -> PathBuf {
    let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let path = manifest
        .lines()
        .find_map(|line| line.strip_prefix("path = \""))
        .and_then(|rest| rest.strip_suffix('"'));
    dir.join(path.unwrap_or("src/lib.rs"))
}

/// The crate name of the package in `dir`.
fn lib_name(dir: &Path) -> String {
    let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let name = manifest
        .lines()
        .find_map(|line| line.strip_prefix("name = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("the fixture's Cargo.toml names its package");
    name.replace('-', "_")
}

/// Builds the program of `tests/fixtures/<fixture>` (`cargo build`) and returns the path of
/// its binary, named after the fixture.
pub(crate) fn build_program(fixture: &str) -> PathBuf {
    let dir = fixture_dir(fixture);
    let target = fixture_target();
    let _lock = build_lock();
    touch_sources(&dir);
    cargo_build(&dir, &target, &[], &[]);
    target.join("debug").join(lib_name(&dir))
}

/// Builds the program of `tests/fixtures/<fixture>` with `features` (`cargo build --features`)
/// and extra environment for cargo, as `build_with` does, and returns a copy of its binary named
/// after the fixture, features and variables: another test may run the binary `build_program`
/// wrote.
pub(crate) fn build_program_with(
    fixture: &str,
    features: &[&str],
    env: &[(&str, &str)],
) -> PathBuf {
    let dir = fixture_dir(fixture);
    let (target, flags) = target_for(env);
    let _lock = build_lock();
    touch_sources(&dir);
    let features = features.join(",");
    let args: &[&str] = if features.is_empty() { &[] } else { &["--features", &features] };
    cargo_build(&dir, &target, args, env);
    let name =
        format!("{}+{}-{flags}", fixture.replace('/', "-"), features.replace(['/', ','], "+"));
    let copy = fixture_target().join("programs").join(name);
    fs::create_dir_all(copy.parent().unwrap()).unwrap();
    let partial = copy.with_extension("partial");
    fs::copy(target.join("debug").join(lib_name(&dir)), &partial).unwrap();
    fs::rename(&partial, &copy).unwrap();
    copy
}

/// The file the constructor of `tests/fixtures/marker` writes as process `pid` maps a library
/// that declares the marker `name`.
pub(crate) fn marker(name: &str, pid: u32) -> PathBuf {
    fixture_target().join("markers").join(format!("{name}-{pid}"))
}

/// `bytes` with the first NUL-delimited occurrence of `name` replaced by `renamed`, of the
/// same length: in a shared library, the first is in the dynamic string table.
pub(crate) fn renamed(mut bytes: Vec<u8>, name: &str, renamed: &str) -> Vec<u8> {
    assert_eq!(name.len(), renamed.len());
    let needle = [b"\0", name.as_bytes(), b"\0"].concat();
    let at = bytes.windows(needle.len()).position(|w| w == needle).expect("the name is there");
    bytes[at + 1..at + 1 + name.len()].copy_from_slice(renamed.as_bytes());
    bytes
}

/// The path this process mapped the library `name` from (`libc.so.6`, say), as
/// `/proc/self/maps` shows it.
pub(crate) fn loaded_library(name: &str) -> String {
    let maps = fs::read_to_string("/proc/self/maps").unwrap();
    let suffix = format!("/{name}");
    maps.lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .find(|path| path.ends_with(&suffix))
        .unwrap_or_else(|| panic!("this process has loaded no {name}"))
        .to_owned()
}

/// Takes a test's turn at version 1 of the program, for the tests of one binary that share its
/// one program: a test that failed (and poisoned the lock, or left a patch applied) does not
/// spoil the others'.
pub(crate) fn turn_at_v1() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    while dsu::status().versions.len() > 1 {
        dsu::rollback().expect("back towards v1");
    }
    turn
}
