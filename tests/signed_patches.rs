//! A program that trusts signing keys takes only patches signed by one of them, each a release
//! newer than every one it has run, built on the release it runs; anything else is refused
//! before the dynamic loader sees it, so none of its code runs. Each test runs the program
//! (`tests/fixtures/app/v1`'s `main.rs`) as a process of its own, with keys and a high-water
//! mark of its own.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use minisign::{KeyPair, PublicKey, SecretKey};

/// A signing key, as `minisign -G` makes one.
struct Key {
    public: PublicKey,
    secret: SecretKey,
}

impl Key {
    fn new() -> Key {
        let KeyPair { pk, sk } = KeyPair::generate_unencrypted_keypair().unwrap();
        Key { public: pk, secret: sk }
    }

    /// The key's minisign.pub, as a file holds it.
    fn public_file(&self) -> String {
        self.public.to_box().unwrap().into_string()
    }

    /// Signs the file at `path` as `minisign -S -m <path>` does: into `<path>.minisig`.
    fn sign(&self, path: &Path) {
        let bytes = fs::read(path).unwrap();
        let signature =
            minisign::sign(Some(&self.public), &self.secret, bytes.as_slice(), None, None).unwrap();
        fs::write(minisig(path), signature.into_string()).unwrap();
    }
}

fn minisig(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.minisig", path.display()))
}

/// A directory of the test's own: the program's keys file and mark, and its patches.
struct Setup {
    dir: PathBuf,
    program: PathBuf,
}

impl Setup {
    /// Trusts `keys`, in a keys file.
    fn new(test: &str, keys: &[&Key]) -> Setup {
        let dir = support::fixture_target().join("signing").join(test);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let keys: String = keys.iter().map(|key| key.public_file()).collect();
        fs::write(dir.join("trusted.pub"), keys).unwrap();
        // Built once for all the tests, each of which runs a copy of its own: a build that
        // replaces the binary while another test starts it would fail that test.
        static PROGRAM: OnceLock<PathBuf> = OnceLock::new();
        let built = PROGRAM.get_or_init(|| support::build_program("app/v1"));
        let program = dir.join("app");
        fs::copy(built, &program).unwrap();
        Setup { dir, program }
    }

    /// A copy of the patch built from `fixture` with `features`, named `name` in the test's
    /// directory, so that its signature is the test's.
    fn patch(&self, fixture: &str, features: &[&str], name: &str) -> PathBuf {
        let copy = self.dir.join(name);
        fs::copy(support::build(fixture, features), &copy).unwrap();
        copy
    }

    /// `patch`, signed by `key`.
    fn signed(&self, key: &Key, fixture: &str, features: &[&str], name: &str) -> PathBuf {
        let patch = self.patch(fixture, features, name);
        key.sign(&patch);
        patch
    }

    /// Starts the program, runs `commands`, and returns a line per command and the process's
    /// id.
    fn run(&self, commands: &[&str]) -> (Vec<String>, u32) {
        let program = Command::new(&self.program)
            .arg("--keys-file")
            .arg(self.dir.join("trusted.pub"))
            .arg("--mark")
            .arg(self.dir.join("high-water-mark"))
            .args(commands)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = program.id();
        let out = program.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "the program failed: {stderr}");
        let lines = String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect();
        (lines, pid)
    }

    /// The lines `commands` print.
    fn lines(&self, commands: &[&str]) -> Vec<String> {
        self.run(commands).0
    }

    fn mark(&self) -> String {
        fs::read_to_string(self.dir.join("high-water-mark")).unwrap_or_default()
    }
}

/// What the message of each kind of refusal here tells the operator to do.
const REMEDIES: [(&str, &str); 5] = [
    ("unsigned", "sign it with a key the program trusts: `minisign -S"),
    ("bad_signature", "sign the patch as it was built, with a key the program trusts"),
    ("undeclared_release", "its `sequence = N, base = \"VERSION\"`"),
    ("wrong_base", "apply the releases from 1.0.0 up to"),
    ("stale_sequence", "give the newest release"),
];

/// Runs `update` of the marker-writing v2 at `patch` in a fresh program, and asserts it is
/// refused as `kind` without any of the patch's code running.
fn never_runs(setup: &Setup, patch: &Path, kind: &str) {
    let (lines, pid) = setup.run(&["update", patch.to_str().unwrap(), "version"]);
    assert!(lines[0].starts_with(&format!("refused {kind}: ")), "{lines:?}");
    let remedy = REMEDIES.iter().find(|(known, _)| *known == kind).expect("a known kind").1;
    assert!(lines[0].contains(remedy), "the message must say to `{remedy}`: {}", lines[0]);
    assert_eq!(lines[1], "1", "the program runs v1 still");
    let marker = support::marker("app-v2", pid);
    assert!(!marker.exists(), "the refused patch's constructor ran: {lines:?}");
}

#[test]
fn an_unsigned_patch_never_runs() {
    let setup = Setup::new("unsigned", &[&Key::new()]);
    let v2 = setup.patch("app/v2", &["release", "marker"], "v2.so");
    never_runs(&setup, &v2, "unsigned");
}

#[test]
fn a_patch_signed_by_a_key_the_program_does_not_trust_never_runs() {
    let setup = Setup::new("other-key", &[&Key::new()]);
    let v2 = setup.signed(&Key::new(), "app/v2", &["release", "marker"], "v2.so");
    never_runs(&setup, &v2, "bad_signature");
}

#[test]
fn a_patch_changed_after_it_was_signed_never_runs() {
    let key = Key::new();
    let setup = Setup::new("changed", &[&key]);
    let v2 = setup.signed(&key, "app/v2", &["release", "marker"], "v2.so");
    let mut bytes = fs::read(&v2).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&v2, bytes).unwrap();
    never_runs(&setup, &v2, "bad_signature");
}

#[test]
fn a_signature_that_is_not_one_never_runs() {
    let setup = Setup::new("garbage-signature", &[&Key::new()]);
    let v2 = setup.patch("app/v2", &["release", "marker"], "v2.so");
    fs::write(minisig(&v2), "untrusted comment: nothing\nAAAA\n").unwrap();
    never_runs(&setup, &v2, "bad_signature");
}

/// Keys rotate: while both are trusted, a patch signed by either applies.
#[test]
fn either_of_two_trusted_keys_signs_a_release() {
    let (old, new) = (Key::new(), Key::new());
    let setup = Setup::new("rotation", &[&old, &new]);
    let v2 = setup.signed(&old, "app/v2", &["release"], "v2.so");
    let v3 = setup.signed(&new, "app/v3", &["release"], "v3.so");
    let lines = setup.lines(&["update", v2.to_str().unwrap(), "update", v3.to_str().unwrap()]);
    assert_eq!(lines, ["ok app@2.0.0", "ok app@3.0.0"]);
    assert_eq!(setup.mark().trim(), "3");
}

/// A signed patch must say which release it is and what it is built on: otherwise its
/// signature would let it be replayed or applied out of order.
#[test]
fn a_signed_patch_that_declares_no_release_never_runs() {
    let key = Key::new();
    let setup = Setup::new("no-release", &[&key]);
    let v2 = setup.signed(&key, "app/v2", &["marker"], "v2.so");
    never_runs(&setup, &v2, "undeclared_release");
}

#[test]
fn a_signed_patch_built_on_another_release_never_runs() {
    let key = Key::new();
    let setup = Setup::new("other-base", &[&key]);
    let v2 = setup.signed(&key, "app/v2", &["other-base", "marker"], "v2.so");
    never_runs(&setup, &v2, "wrong_base");
    // And a release two steps ahead is refused too: the one between comes first.
    let v3 = setup.signed(&key, "app/v3", &["release"], "v3.so");
    let lines = setup.lines(&["update", v3.to_str().unwrap()]);
    assert!(lines[0].starts_with("refused wrong_base: "), "{lines:?}");
}

/// A validly signed old release, replayed: in the same process, and after a restart, where
/// only the high-water mark remembers what the program ran.
#[test]
fn a_replayed_signed_patch_never_runs() {
    let key = Key::new();
    let setup = Setup::new("replay", &[&key]);
    let v2 = setup.signed(&key, "app/v2", &["release", "marker"], "v2.so");
    let v3 = setup.signed(&key, "app/v3", &["release"], "v3.so");
    let v2_path = v2.to_str().unwrap();
    let (lines, pid) =
        setup.run(&["update", v2_path, "update", v3.to_str().unwrap(), "update", v2_path]);
    assert_eq!(lines[..2], ["ok app@2.0.0", "ok app@3.0.0"]);
    // The marker says when a patch's code ran: here it did, once.
    let marker = support::marker("app-v2", pid);
    assert!(marker.exists(), "the applied v2's constructor wrote no marker");
    fs::remove_file(marker).unwrap();
    assert!(lines[2].starts_with("refused stale_sequence: "), "{lines:?}");
    assert_eq!(setup.mark().trim(), "3");

    // The program restarts as v1, and the mark says it ran release 3.
    never_runs(&setup, &v2, "stale_sequence");
    assert_eq!(setup.mark().trim(), "3");
}

/// The trust is set before the first update: set after one loaded a patch, when unsigned
/// code may have run already, it is refused, and the program trusts nothing it did not before.
/// Here the update did not even commit: the patch, built against another dsu ABI, was refused
/// after the loader had mapped it and run its initialisers. The update holds what
/// `dsu::trust` waits for, so one that has started finishes before the trust is looked at. In
/// this test's own process, which no other test here updates.
#[test]
fn trust_set_after_an_update_is_refused() {
    let bad_abi = support::build("bad-abi", &[]);
    // Its hand-made manifest has no crate graph: accepted, so that it is loaded.
    let options = dsu::UpdateOptions::default().accept_unreached(true);
    let refused = dsu::update_with(&bad_abi, &options).expect_err("a patch of another dsu ABI");
    assert!(matches!(refused, dsu::UpdateError::IncompatibleAbi { .. }), "{refused:?}");
    let key = Key::new();
    let trust = dsu::Trust::new().key(&key.public.to_base64()).unwrap();
    let refused = dsu::trust(trust).expect_err("the trust comes too late");
    assert!(matches!(refused, dsu::TrustError::AfterUpdate), "{refused:?}");
    assert!(refused.to_string().contains("before the first update"), "{refused}");
    assert_eq!(app::version(), 1);
}

/// `dsu::inspect` reads what a patch declares from the file, and runs none of it.
#[test]
fn a_patch_is_inspected_without_any_of_its_code_running() {
    let setup = Setup::new("inspect-in-process", &[]);
    let patch = setup.patch("app/v2", &["release", "marker"], "v2.so");
    let info = dsu::inspect(&patch).expect("a patch is inspected");
    assert_eq!((info.package.as_str(), info.version.as_str()), ("app", "2.0.0"));
    assert_eq!((info.base.as_deref(), info.sequence), (Some("1.0.0"), 2));
    assert!(!info.signed, "this process trusts no key: the signature is not read");
    assert!(info.build.iter().any(|(key, value)| key == "dsu" && value == "0.1.0"), "{info}");
    assert!(info.libraries.iter().any(|library| library == "libc.so.6"), "{info}");
    assert!(!support::marker("app-v2", std::process::id()).exists(), "the patch's code ran");
    let not_a_patch =
        dsu::inspect(support::loaded_library("libc.so.6")).expect_err("libc is no patch");
    assert!(matches!(not_a_patch, dsu::UpdateError::NotAPatch { .. }), "{not_a_patch:?}");
}

/// `dsu-inspect` checks each patch's signature against the keys file it is given, as a
/// program that trusts those keys would, and says what each declares.
#[test]
fn the_inspector_takes_only_what_the_given_keys_signed() {
    let (key, other) = (Key::new(), Key::new());
    let setup = Setup::new("inspector", &[&key]);
    let signed = setup.signed(&key, "app/v2", &["release"], "v2.so");
    let foreign = setup.signed(&other, "app/v2", &["release"], "v2-foreign.so");
    let unsigned = setup.patch("app/v2", &["release"], "v2-unsigned.so");
    let inspect = |patch: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_dsu-inspect"))
            .arg("--keys-file")
            .arg(setup.dir.join("trusted.pub"))
            .arg(patch)
            .output()
            .unwrap();
        let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
        (out.status.code(), text(out.stdout), text(out.stderr))
    };
    let (code, stdout, stderr) = inspect(&signed);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("app 2.0.0"), "{stdout}");
    assert!(stdout.contains("release: sequence 2, built on 1.0.0"), "{stdout}");
    assert!(stdout.contains("signature: by a key the program trusts"), "{stdout}");
    let (code, _, stderr) = inspect(&foreign);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("refused bad_signature: "), "{stderr}");
    let (code, _, stderr) = inspect(&unsigned);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("refused unsigned: "), "{stderr}");
}
