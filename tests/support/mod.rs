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
    let dir = root().join("tests").join("fixtures").join(fixture);
    let target = if env.is_empty() {
        fixture_target()
    } else {
        // Other flags rebuild every dependency: keep those builds apart.
        fixture_target().join("other-flags")
    };
    fs::create_dir_all(&target).unwrap();
    let lock = File::create(fixture_target().join(".build-lock")).unwrap();
    lock.lock().unwrap();

    touch_sources(&dir);

    let mut cargo = Command::new(env!("CARGO"));
    cargo.current_dir(&dir).args(["build", "--lib", "--quiet"]).env("CARGO_TARGET_DIR", &target);
    if !features.is_empty() {
        cargo.arg("--features").arg(features.join(","));
    }
    for (key, value) in env {
        cargo.env(key, value);
    }
    let status = cargo.status().expect("cargo runs");
    assert!(status.success(), "building fixture {fixture} failed");

    let name = lib_name(&dir);
    let built = target.join("debug").join(format!("lib{name}.so"));
    let patches = fixture_target().join("patches");
    fs::create_dir_all(&patches).unwrap();
    let label = format!(
        "{}{}{}",
        fixture.replace('/', "-"),
        if features.is_empty() { "" } else { "+" },
        features.join("+")
    )
    .replace('/', "-");
    let copy =
        patches.join(format!("{label}{}.so", if env.is_empty() { "" } else { "-other-flags" }));
    fs::copy(&built, &copy).unwrap();
    copy
}

/// Every version writes the same unhashed `lib<name>.so`, and cargo does not rebuild a version
/// it thinks fresh even when another version overwrote that file: touching the sources makes
/// this version's library the one written.
fn touch_sources(dir: &Path) {
    File::options()
        .append(true)
        .open(dir.join("src").join("lib.rs"))
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
}

fn lib_name(dir: &Path) -> String {
    let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let name = manifest
        .lines()
        .find_map(|line| line.strip_prefix("name = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("the fixture's Cargo.toml names its package");
    name.replace('-', "_")
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
    let dir = root().join("tests").join("fixtures").join(fixture);
    let target = fixture_target();
    fs::create_dir_all(&target).unwrap();
    let lock = File::create(target.join(".build-lock")).unwrap();
    lock.lock().unwrap();

    touch_sources(&dir);
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(&dir)
        .args(["build", "--release", "--lib", "--quiet"])
        .env("CARGO_TARGET_DIR", &target);
    for (key, value) in env {
        cargo.env(key, value);
    }
    let status = cargo.status().expect("cargo runs");
    assert!(status.success(), "building fixture {fixture} in release mode failed");

    let built = target.join("release").join(format!("lib{}.so", lib_name(&dir)));
    let patches = target.join("patches");
    fs::create_dir_all(&patches).unwrap();
    let values: String = env.iter().map(|(key, value)| format!("-{key}={value}")).collect();
    let copy = patches.join(format!("{}-release{values}.so", fixture.replace('/', "-")));
    fs::copy(&built, &copy).unwrap();
    copy
}

/// Builds `examples/<example>/v<version>` the way its README says, in the fixtures' target
/// directory: with the lock file of version 1 (a patch must resolve its dependencies as the
/// running program did), as the program for version 1 (`cargo build`), as a patch for the
/// others (`cargo build --lib`). Returns the program, or a copy of the patch in `patches`.
pub(crate) fn build_example(example: &str, version: u32, patches: &Path) -> PathBuf {
    let examples = root().join("examples").join(example);
    let dir = examples.join(format!("v{version}"));
    let target = fixture_target();
    fs::create_dir_all(&target).unwrap();
    fs::create_dir_all(patches).unwrap();
    let lock = File::create(target.join(".build-lock")).unwrap();
    lock.lock().unwrap();

    let first = examples.join("v1").join("Cargo.lock");
    if !first.exists() {
        fs::copy(root().join("Cargo.lock"), &first).unwrap();
    }
    if version != 1 {
        fs::copy(&first, dir.join("Cargo.lock")).unwrap();
    }
    touch_sources(&dir);
    let mut cargo = Command::new(env!("CARGO"));
    cargo.current_dir(&dir).args(["build", "--quiet"]).env("CARGO_TARGET_DIR", &target);
    if version != 1 {
        cargo.arg("--lib");
    }
    let status = cargo.status().expect("cargo runs");
    assert!(status.success(), "building {example} v{version} failed");

    let name = lib_name(&dir);
    if version == 1 {
        return target.join("debug").join(&name);
    }
    let copy = patches.join(format!("{name}-{version}.so"));
    fs::copy(target.join("debug").join(format!("lib{name}.so")), &copy).unwrap();
    copy
}

/// Builds the program of `tests/fixtures/<fixture>` in release mode (`cargo build --release`)
/// and returns the path of its binary, named after the fixture.
pub(crate) fn build_release_program(fixture: &str) -> PathBuf {
    let dir = root().join("tests").join("fixtures").join(fixture);
    let target = fixture_target();
    fs::create_dir_all(&target).unwrap();
    let lock = File::create(target.join(".build-lock")).unwrap();
    lock.lock().unwrap();
    let status = Command::new(env!("CARGO"))
        .current_dir(&dir)
        .args(["build", "--release", "--quiet"])
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building fixture {fixture} in release mode failed");
    target.join("release").join(lib_name(&dir))
}
