//! Every way an update can be refused, each with a real file, and each leaving the running
//! program exactly as it was: same version chain, same items, same code running.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use dsu::UpdateError;

/// The tests share one process, and so one running program: one at a time.
static PROGRAM: Mutex<()> = Mutex::new(());

/// What the program runs, as comparable data: the version chain, every item with its
/// signature and version, and what two items answer.
type Snapshot = (Vec<String>, Vec<(String, String, u64)>, u32, String);

fn snapshot() -> Snapshot {
    let status = dsu::status();
    let versions = status.versions.iter().map(|v| v.label.clone()).collect();
    let items = status
        .items
        .iter()
        .map(|i| (i.item.path.clone(), i.item.signature.clone(), i.version))
        .collect();
    (versions, items, app::version(), app::greet("x"))
}

/// What the message of each kind of refusal tells the operator to do. A message reworded
/// without its instruction fails here; a new kind of refusal gets its line.
const REMEDIES: [(&str, &str); 17] = [
    ("unreadable", "check the path"),
    ("not_a_shared_library", "give the lib<crate>.so that `cargo build --lib` writes"),
    ("load_failed", "rebuild the patch for this machine"),
    ("not_a_patch", "add `dsu::patch!();` to the crate's lib.rs"),
    ("bad_manifest", "rebuild it with `cargo build --lib`"),
    ("wrong_base", "apply the releases from 1.0.0 up to"),
    ("incompatible_abi", "rebuild it with the dsu version of the running program"),
    ("build_mismatch", "rebuild it with the same toolchain and flags"),
    ("wrong_program", "give a patch built from"),
    ("already_applied", "build a new version"),
    ("signature_mismatch", "rebuild it"),
    ("duplicate_item", "rebuild it"),
    ("allocator_mismatch", "Declare the program's allocator"),
    ("unloaded_library", "restart the program built with the new dependency"),
    ("unverifiable", "build it"),
    ("unresolved_symbols", "Rebuild the patch with the program's Cargo.lock, features, profile"),
    ("unanalysed", "Write dsu::patch!() at the root of the library crate"),
];

/// Asserts that the message of `error`, a refusal of the patch at `given`, names what was
/// refused (the file, or the crate, item or allocator at fault) and says what to do about it.
fn says_what_to_do(error: &UpdateError, given: &Path) {
    let message = error.to_string();
    let named = match error {
        UpdateError::WrongProgram { patch, .. } => format!("`{patch}`"),
        UpdateError::SignatureMismatch { item, .. } | UpdateError::DuplicateItem { item } => {
            format!("`{item}`")
        }
        UpdateError::AllocatorMismatch { patch, .. } => patch.clone(),
        _ => given.display().to_string(),
    };
    assert!(message.contains(&named), "the message must name {named}: {message}");
    let kind = error.kind();
    let Some((_, remedy)) = REMEDIES.iter().find(|(known, _)| *known == kind) else {
        panic!("no remedy is known for `{kind}`: add the instruction its message gives to REMEDIES")
    };
    assert!(
        message.contains(remedy),
        "the message of a `{kind}` refusal must tell the operator to `{remedy}`; it says: {message}"
    );
}

/// Asserts that `update(path)` is refused with an error `matches` accepts, that the error
/// says what to do, and that nothing changed.
fn refused(path: &PathBuf, matches: impl Fn(&UpdateError) -> bool) -> UpdateError {
    refused_with(path, &dsu::UpdateOptions::default(), matches)
}

/// `refused`, for `update_with(path, options)`.
fn refused_with(
    path: &PathBuf,
    options: &dsu::UpdateOptions,
    matches: impl Fn(&UpdateError) -> bool,
) -> UpdateError {
    let _program = PROGRAM.lock().unwrap_or_else(|e| e.into_inner());
    let before = snapshot();
    let error = dsu::update_with(path, options).expect_err("the update must be refused");
    assert!(matches(&error), "unexpected error: {error:?}");
    says_what_to_do(&error, path);
    assert_eq!(snapshot(), before, "a refused update changed the program");
    assert_eq!(app::version(), 1);
    error
}

fn scratch(name: &str) -> PathBuf {
    let dir = support::fixture_target().join("scratch");
    fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn missing_file() {
    let error =
        refused(&scratch("does-not-exist.so"), |e| matches!(e, UpdateError::Unreadable { .. }));
    assert!(error.to_string().contains("does-not-exist.so"));
}

#[test]
fn directory_instead_of_file() {
    refused(&support::fixture_target(), |e| matches!(e, UpdateError::Unreadable { .. }));
}

/// Reading a FIFO waits for a writer, with the update lock held: every later update would
/// wait too. Refused as no regular file, at once.
#[test]
fn fifo_instead_of_file() {
    let path = scratch("fifo.so");
    let _ = fs::remove_file(&path);
    let made = std::process::Command::new("mkfifo").arg(&path).status().expect("mkfifo runs");
    assert!(made.success());
    // Were the update to wait, a writer that comes and goes ends the wait: the test fails
    // instead of hanging.
    let writer = path.clone();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(10));
        let _ = fs::OpenOptions::new().write(true).open(writer);
    });
    let error = refused(&path, |e| matches!(e, UpdateError::Unreadable { .. }));
    assert!(error.to_string().contains("not a regular file"), "{error}");
}

#[test]
fn text_file() {
    let path = scratch("notes.so");
    fs::write(&path, "not a library\n").unwrap();
    refused(&path, |e| matches!(e, UpdateError::NotASharedLibrary { .. }));
}

#[test]
fn truncated_library() {
    let v2 = fs::read(support::build("app/v2", &[])).unwrap();
    let path = scratch("truncated.so");
    fs::write(&path, &v2[..v2.len() / 3]).unwrap();
    refused(&path, |e| {
        matches!(
            e,
            UpdateError::NotASharedLibrary { .. }
                | UpdateError::Unverifiable { .. }
                | UpdateError::LoadFailed { .. }
        )
    });
}

#[test]
fn library_for_another_machine() {
    let mut bytes = fs::read(support::build("app/v2", &[])).unwrap();
    // e_machine, at offset 18 of the ELF header: make it AArch64 (183).
    bytes[18..20].copy_from_slice(&183u16.to_le_bytes());
    let path = scratch("aarch64.so");
    fs::write(&path, &bytes).unwrap();
    refused(&path, |e| matches!(e, UpdateError::LoadFailed { .. }));
}

/// A library the program has not loaded is never loaded for a patch: it would run its
/// initialisers, and a Rust one would bring copies of what the program shares.
#[test]
fn needs_a_library_the_program_has_not_loaded() {
    let v2 = fs::read(support::build("app/v2", &[])).unwrap();
    let path = scratch("needs-another-library.so");
    fs::write(&path, support::renamed(v2, "libgcc_s.so.1", "libgcc_q.so.1")).unwrap();
    let error = refused(&path, |e| matches!(e, UpdateError::UnloadedLibrary { .. }));
    assert!(error.to_string().contains("libgcc_q.so.1"), "{error}");
}

/// The dynamic loader binds functions at their first call: a patch that imports a symbol
/// nothing defines would load and then end the process. It is refused before it loads.
#[test]
fn imports_a_symbol_nothing_defines() {
    let v2 = fs::read(support::build("app/v2", &[])).unwrap();
    let path = scratch("needs-another-symbol.so");
    fs::write(&path, support::renamed(v2, "malloc", "mallod")).unwrap();
    let error = refused(&path, |e| matches!(e, UpdateError::UnresolvedSymbols { .. }));
    let UpdateError::UnresolvedSymbols { count, symbols, crates, .. } = &error else {
        unreachable!()
    };
    assert_eq!((*count, symbols.as_slice()), (1, ["mallod".to_owned()].as_slice()), "{error}");
    assert!(crates.is_empty(), "{error}");
}

/// Asserts that no code of the library whose constructor writes the marker `name` ran in this
/// process: it was refused before the dynamic loader saw it.
fn never_ran(name: &str) {
    let marker = support::marker(name, std::process::id());
    assert!(!marker.exists(), "the refused library's constructor ran: {} exists", marker.display());
}

/// Removes the marker `name` of this process that an earlier run may have left.
fn no_marker(name: &str) {
    let _ = fs::remove_file(support::marker(name, std::process::id()));
}

#[test]
fn a_library_without_dsu_is_refused_before_its_code_runs() {
    no_marker("plain");
    refused(&support::build("plain", &[]), |e| matches!(e, UpdateError::NotAPatch { .. }));
    never_ran("plain");
}

#[test]
fn a_corrupt_manifest_section_is_refused_before_its_code_runs() {
    no_marker("app-v2");
    let v2 = fs::read(support::build("app/v2", &["marker"])).unwrap();
    let path = scratch("corrupt-manifest.so");
    let (at, _) = section(&v2, ".dsu.manifest");
    assert!(v2[at..].starts_with(b"dsu-manifest 1\0"));
    let mut corrupt = v2;
    corrupt[at + 13] = b'9';
    fs::write(&path, corrupt).unwrap();
    let error = refused(&path, |e| matches!(e, UpdateError::BadManifest { .. }));
    assert!(error.to_string().contains("does not start with `dsu-manifest 1`"), "{error}");
    never_ran("app-v2");
}

/// The crate graph is read from the file before loading too: a corrupt one is refused before
/// the patch's code runs.
#[test]
fn a_corrupt_graph_section_is_refused_before_its_code_runs() {
    no_marker("app-v2");
    let v2 = fs::read(support::build("app/v2", &["marker"])).unwrap();
    let path = scratch("corrupt-graph.so");
    let (at, _) = section(&v2, ".dsu.graph");
    assert!(v2[at..].starts_with(b"dsu-graph 1\n"));
    let mut corrupt = v2;
    corrupt[at + 10] = b'9';
    fs::write(&path, corrupt).unwrap();
    let error = refused(&path, |e| matches!(e, UpdateError::BadManifest { .. }));
    assert!(error.to_string().contains("the graph's header is `dsu-graph 9`"), "{error}");
    never_ran("app-v2");
}

/// Without a graph the update cannot tell what the patch's changes reach: refused before the
/// patch's code runs, unless the caller accepts it.
#[test]
fn a_patch_without_a_graph_is_refused_before_its_code_runs() {
    no_marker("app-v2");
    let mut bytes = fs::read(support::build("app/v2", &["marker"])).unwrap();
    // The section's name, in the section headers' string table, made another.
    let name = b".dsu.graph\0";
    let found: Vec<usize> =
        (0..bytes.len() - name.len()).filter(|&at| &bytes[at..at + name.len()] == name).collect();
    assert_eq!(found.len(), 1, "the section's name once, in the string table");
    bytes[found[0] + 9] = b'X';
    let path = scratch("no-graph.so");
    fs::write(&path, bytes).unwrap();
    let error = refused(&path, |e| matches!(e, UpdateError::Unanalysed { .. }));
    assert!(error.to_string().contains("the patch has no crate graph"), "{error}");
    assert!(error.to_string().contains("accept_unreached(true)"), "{error}");
    never_ran("app-v2");
}

/// The checks before loading read the manifest section through the section headers, which
/// the dynamic loader never reads: a file whose headers point at another manifest than the one
/// its code maps must not pass for it.
#[test]
fn a_section_header_that_points_at_another_manifest() {
    let mut bytes = fs::read(support::build("app/v2", &[])).unwrap();
    let header = section_header(&bytes, ".dsu.manifest");
    let (offset, size) = section(&bytes, ".dsu.manifest");
    // A manifest that says version 2.0.9, after the end of the file, where no segment maps.
    let genuine = String::from_utf8(bytes[offset..offset + size].to_vec()).unwrap();
    let forged = genuine.replace("\0version=2.0.0\0", "\0version=2.0.9\0");
    assert_ne!(forged, genuine);
    let forged_at = bytes.len() as u64;
    bytes.extend_from_slice(forged.as_bytes());
    bytes[header + 24..header + 32].copy_from_slice(&forged_at.to_le_bytes());
    let path = scratch("forged-manifest.so");
    fs::write(&path, bytes).unwrap();
    let error = refused(&path, |e| matches!(e, UpdateError::BadManifest { .. }));
    assert!(error.to_string().contains("is not the one its file declares"), "{error}");
}

/// The loader reads the dynamic array where the segment says, at its address; the check
/// reads the section: a segment that points elsewhere is refused.
#[test]
fn a_dynamic_segment_elsewhere_than_its_section() {
    let mut bytes = fs::read(support::build("app/v2", &[])).unwrap();
    let u16_at = |bytes: &[u8], at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]) as usize;
    let table = u64::from_le_bytes(bytes[0x20..0x28].try_into().unwrap()) as usize;
    let (entry, count) = (u16_at(&bytes, 0x36), u16_at(&bytes, 0x38));
    let dynamic = (0..count)
        .map(|index| table + index * entry)
        .find(|&header| u32::from_le_bytes(bytes[header..header + 4].try_into().unwrap()) == 2)
        .expect("a PT_DYNAMIC segment");
    // p_vaddr, 16 bytes into an ELF64 program header: 16 bytes on, the offset left alone.
    let vaddr = u64::from_le_bytes(bytes[dynamic + 16..dynamic + 24].try_into().unwrap());
    bytes[dynamic + 16..dynamic + 24].copy_from_slice(&(vaddr + 16).to_le_bytes());
    let path = scratch("dynamic-elsewhere.so");
    fs::write(&path, bytes).unwrap();
    let error = refused(&path, |e| matches!(e, UpdateError::Unverifiable { .. }));
    assert!(error.to_string().contains("dynamic segment is not its dynamic section"), "{error}");
}

/// The loader expands `$ORIGIN`, `$LIB` and `$PLATFORM` in a needed name, into a path.
#[test]
fn needs_a_library_named_with_a_loader_variable() {
    let v2 = fs::read(support::build("app/v2", &[])).unwrap();
    let path = scratch("needs-by-variable.so");
    fs::write(&path, support::renamed(v2, "libgcc_s.so.1", "$PLATFORMx.so")).unwrap();
    let error = refused(&path, |e| matches!(e, UpdateError::Unverifiable { .. }));
    assert!(error.to_string().contains("names a library by its path"), "{error}");
}

/// Libraries loaded later would take a patch that declares a soname for the library of that
/// name.
#[test]
fn declares_a_soname() {
    let error = refused(&support::build("app/v2", &["own-soname"]), |e| {
        matches!(e, UpdateError::Unverifiable { .. })
    });
    assert!(error.to_string().contains("it declares a soname"), "{error}");
}

/// A library named by its path is opened from that path, loaded or not.
#[test]
fn needs_a_library_by_its_path() {
    let v2 = fs::read(support::build("app/v2", &[])).unwrap();
    let path = scratch("needs-by-path.so");
    fs::write(&path, support::renamed(v2, "libgcc_s.so.1", "/x/libgc_s.so")).unwrap();
    let error = refused(&path, |e| matches!(e, UpdateError::Unverifiable { .. }));
    assert!(error.to_string().contains("names a library by its path"), "{error}");
}

/// Where the section `name` of the ELF64 file `bytes` is in the file, and its size.
fn section(bytes: &[u8], name: &str) -> (usize, usize) {
    let header = section_header(bytes, name);
    let field = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    (field(header + 24), field(header + 32))
}

/// Where the section header of the section `name` of the ELF64 file `bytes` starts.
fn section_header(bytes: &[u8], name: &str) -> usize {
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]) as usize;
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    let (table, entry, count, names) = (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let strings = u64_at(table + names * entry + 24);
    (0..count)
        .map(|index| table + index * entry)
        .find(|&header| {
            let at = strings
                + u32::from_le_bytes(bytes[header..header + 4].try_into().unwrap()) as usize;
            bytes[at..].starts_with(name.as_bytes()) && bytes[at + name.len()] == 0
        })
        .expect("the section is there")
}

#[test]
fn a_patch_built_on_another_release_is_refused_before_its_code_runs() {
    no_marker("app-v2");
    let path = support::build("app/v2", &["other-base", "marker"]);
    let error = refused(&path, |e| matches!(e, UpdateError::WrongBase { .. }));
    let UpdateError::WrongBase { base, running, .. } = &error else { unreachable!() };
    assert_eq!((base.as_str(), running.as_str()), ("1.5.0", "1.0.0"));
    never_ran("app-v2");
}

#[test]
fn incompatible_dsu_abi() {
    // Its manifest is written by hand, without a crate graph: accepted, to reach the layout.
    let options = dsu::UpdateOptions::default().accept_unreached(true);
    let patch = support::build("bad-abi", &[]);
    refused_with(&patch, &options, |e| matches!(e, UpdateError::IncompatibleAbi { .. }));
    let error = refused(&patch, |e| matches!(e, UpdateError::Unanalysed { .. }));
    assert!(error.to_string().contains("the patch has no crate graph"), "{error}");
}

#[test]
fn built_with_other_flags() {
    let path = support::build_with("app/v2", &[], &[("RUSTFLAGS", "--cfg dsu_other_flags")]);
    let error = refused(&path, |e| matches!(e, UpdateError::BuildMismatch { .. }));
    let UpdateError::BuildMismatch { differences, .. } = &error else { unreachable!() };
    assert_eq!(differences.len(), 1, "{error}");
    assert_eq!(differences[0].field, "rustflags");
    assert!(differences[0].patch.contains("dsu_other_flags"));
    assert!(
        error.to_string().contains("rustflags: running ``, patch `--cfg dsu_other_flags`"),
        "{error}"
    );
}

/// A Cargo profile's `panic` reaches every crate but build scripts: the strategy is read from
/// the crate that is the patch. An aborting patch in an unwinding program would turn a panic
/// that the program catches (a transformer's, say) into the end of the process.
#[test]
fn aborting_patch_for_an_unwinding_program() {
    let path = support::build_with("app/v2", &[], &[("CARGO_PROFILE_DEV_PANIC", "abort")]);
    let error = refused(&path, |e| matches!(e, UpdateError::BuildMismatch { .. }));
    let UpdateError::BuildMismatch { differences, .. } = &error else { unreachable!() };
    assert_eq!(differences.len(), 1, "{error}");
    assert_eq!(differences[0].field, "panic strategy");
    assert_eq!(
        (differences[0].running.as_str(), differences[0].patch.as_str()),
        ("unwind", "abort")
    );
}

#[test]
fn a_patch_of_another_program_is_refused_before_its_code_runs() {
    no_marker("other");
    let error =
        refused(&support::build("other", &[]), |e| matches!(e, UpdateError::WrongProgram { .. }));
    assert!(error.to_string().contains("`other`"), "{error}");
    never_ran("other");
}

#[test]
fn lying_signature() {
    refused(
        &support::build("app/v2", &["corrupt-signature"]),
        |e| matches!(e, UpdateError::SignatureMismatch { item, .. } if item == "app::removed_in_v2"),
    );
}

#[test]
fn item_listed_twice() {
    refused(
        &support::build("app/v2", &["corrupt-duplicate"]),
        |e| matches!(e, UpdateError::DuplicateItem { item } if item == "app::made_up"),
    );
}

#[test]
fn allocator_of_its_own() {
    refused(&support::build("app/v2", &["custom-alloc"]), |e| {
        matches!(e, UpdateError::AllocatorMismatch { .. })
    });
}

#[test]
fn nothing_to_roll_back() {
    let _program = PROGRAM.lock().unwrap_or_else(|e| e.into_inner());
    let before = snapshot();
    let error = dsu::rollback().expect_err("nothing was applied");
    assert!(matches!(error, UpdateError::NothingToRollBack), "{error}");
    assert_eq!(error.kind(), "nothing_to_roll_back");
    assert_eq!(snapshot(), before);
}

#[test]
fn same_patch_twice() {
    let v2 = support::build("app/v2", &[]);
    let _program = PROGRAM.lock().unwrap_or_else(|e| e.into_inner());
    dsu::update(&v2).expect("v2 applies");
    assert_eq!(app::version(), 2);
    let applied = snapshot();
    let error = dsu::update(&v2).expect_err("the same file again is refused");
    assert!(matches!(error, UpdateError::AlreadyApplied { .. }), "{error:?}");
    says_what_to_do(&error, &v2);
    // Also under another name: it is the content that counts.
    let renamed = scratch("v2-again.so");
    fs::copy(&v2, &renamed).unwrap();
    assert!(matches!(dsu::update(&renamed), Err(UpdateError::AlreadyApplied { .. })));
    assert_eq!(snapshot(), applied);
    dsu::rollback().expect("back to v1");
    assert_eq!(app::version(), 1);
}
