//! Loading a patch image: from a copy at a path of its own, never unloaded.
//!
//! `dlopen` returns the already loaded image when asked for a path it has seen, so a v3 built
//! to the same `target/.../libapp.so` as v2 would silently give v2 back: every patch is loaded
//! from a fresh copy. And an image is never unloaded: threads may still run its code, and
//! `dlclose` of a Rust library with thread-local destructors is undefined behaviour
//! (libloading#41, rust#88737). abi_stable's `RootModule::load_from_file` would cache one root
//! module per type and so return v2's manifest for v3 (abi_stable#92); the loader goes through
//! `lib_header_from_path` and `init_root_module` instead, once per copy.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

use abi_stable::library::{lib_header_from_path, LibraryError};
use dsu_abi::PatchManifestRef;

use crate::error::UpdateError;

/// The start of every ELF file.
const ELF_MAGIC: &[u8] = b"\x7fELF";

/// Refuses what cannot be a shared library before the dynamic loader sees it.
pub(crate) fn check_shared_library(path: &Path, bytes: &[u8]) -> Result<(), UpdateError> {
    let is_shared_object = bytes.starts_with(ELF_MAGIC)
        && matches!(
            object::FileKind::parse(bytes),
            Ok(object::FileKind::Elf64 | object::FileKind::Elf32)
        )
        && object::read::File::parse(bytes)
            .map(|file| object::Object::kind(&file) == object::ObjectKind::Dynamic)
            .unwrap_or(false);
    if is_shared_object {
        Ok(())
    } else {
        Err(UpdateError::NotASharedLibrary { path: path.to_owned() })
    }
}

/// Where the copies of this process's patches go. The copies stay while the process runs
/// (debuggers and backtraces read the code's file by its path); the first update of a process
/// removes the copies left by processes that are gone.
fn copy_dir() -> PathBuf {
    static SWEPT: Once = Once::new();
    let temp = std::env::temp_dir();
    SWEPT.call_once(|| remove_stale_copies(&temp));
    temp.join(format!("dsu-{}", std::process::id()))
}

fn remove_stale_copies(temp: &Path) {
    let Ok(entries) = fs::read_dir(temp) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("dsu-")) else { continue };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            // Best effort: a directory that cannot be removed is left for the next sweep.
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Writes `bytes` (the file as read and checked) to a path no other patch used, and loads it.
pub(crate) fn load(path: &Path, bytes: &[u8]) -> Result<PatchManifestRef, UpdateError> {
    // A refused patch stays loaded too, so even its copy's path is never used again.
    static COPIES: AtomicU64 = AtomicU64::new(0);
    let serial = COPIES.fetch_add(1, Ordering::Relaxed);
    let name =
        path.file_name().map_or_else(|| "patch.so".into(), |n| n.to_string_lossy().into_owned());
    let dir = copy_dir();
    let copy = dir.join(format!("{serial}-{name}"));
    let unreadable = |source: io::Error| UpdateError::Unreadable { path: copy.clone(), source };
    fs::create_dir_all(&dir).map_err(unreadable)?;
    fs::write(&copy, bytes).map_err(unreadable)?;

    let header = lib_header_from_path(&copy).map_err(|e| library_error(path, e))?;
    header.init_root_module::<PatchManifestRef>().map_err(|e| library_error(path, e))
}

fn library_error(path: &Path, error: LibraryError) -> UpdateError {
    let path = path.to_owned();
    match error {
        LibraryError::OpenError { err, .. } => {
            UpdateError::LoadFailed { path, reason: err.to_string() }
        }
        LibraryError::GetSymbolError { .. } => UpdateError::NotAPatch { path },
        LibraryError::RootModule { err, .. } => UpdateError::LoadFailed {
            path,
            reason: format!("its manifest could not be built: {err}"),
        },
        other => UpdateError::IncompatibleAbi { path, reason: other.to_string() },
    }
}
