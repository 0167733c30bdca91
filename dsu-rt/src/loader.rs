//! Loading a patch image: exactly the bytes that were checked, never unloaded.
//!
//! The dynamic loader opens a library by path, and a path can be changed under the caller: a
//! copy written to a shared directory can be a planted symlink, or be swapped for another file
//! between the write and the `dlopen`. So the bytes the update read and checked go into a
//! sealed memfd, a file no path names and no one can write once sealed, which is loaded as
//! `/proc/self/fd/<fd>`.
//!
//! Every fd stays open while the process runs, for two reasons: `dlopen` returns the already
//! loaded image when asked for a path it has seen, so a reused fd number would give an earlier
//! patch back; and the image's file stays readable by its path for backtraces. An image is
//! never unloaded either: threads may still run its code, and `dlclose` of a Rust library with
//! thread-local destructors is undefined behaviour (libloading#41, rust#88737). abi_stable's
//! `RootModule::load_from_file` would cache one root module per type and so return v2's
//! manifest for v3 (abi_stable#92); the loader goes through `lib_header_from_path` and
//! `init_root_module` instead, once per image.
//!
//! `$ORIGIN` of a patch loaded so is `/proc/self/fd`, where no library lies: a patch finds its
//! libraries only among those already loaded, by name (see `linkage.rs`).

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use abi_stable::library::{lib_header_from_path, LibraryError};
use dsu_abi::PatchManifestRef;

use crate::error::UpdateError;

/// How the memfd of every patch is named, before the patch's file name: `/proc/self/maps` shows
/// it as `/memfd:dsu:<file name> (deleted)`.
pub(crate) const MEMFD_NAME: &str = "dsu:";

/// The start of every ELF file.
const ELF_MAGIC: &[u8] = b"\x7fELF";

/// Refuses what cannot be a shared library before the dynamic loader sees it; parses what can,
/// once, for the checks that read its sections and symbols.
pub(crate) fn shared_library<'a>(
    path: &Path,
    bytes: &'a [u8],
) -> Result<object::read::File<'a>, UpdateError> {
    let is_elf = bytes.starts_with(ELF_MAGIC)
        && matches!(
            object::FileKind::parse(bytes),
            Ok(object::FileKind::Elf64 | object::FileKind::Elf32)
        );
    match object::read::File::parse(bytes) {
        Ok(file) if is_elf && object::Object::kind(&file) == object::ObjectKind::Dynamic => {
            Ok(file)
        }
        _ => Err(UpdateError::NotASharedLibrary { path: path.to_owned() }),
    }
}

/// Puts `bytes` (the file as read and checked) in a sealed memfd and loads it from there.
pub(crate) fn load(path: &Path, bytes: &[u8]) -> Result<PatchManifestRef, UpdateError> {
    let name = path.file_name().map_or_else(|| "patch".into(), |n| n.to_string_lossy());
    let image = sealed(&format!("{MEMFD_NAME}{name}"), bytes).map_err(|source| {
        UpdateError::LoadFailed {
            path: path.to_owned(),
            reason: format!("its bytes could not be put in a sealed memfd: {source}"),
        }
    })?;
    // The fd is never closed (see the module's comment): its number is never reused.
    let fd = image.into_raw_fd();
    let loaded = PathBuf::from(format!("/proc/self/fd/{fd}"));
    let header = lib_header_from_path(&loaded).map_err(|e| library_error(path, e))?;
    header.init_root_module::<PatchManifestRef>().map_err(|e| library_error(path, e))
}

/// A memfd named `name` that holds `bytes` and can never change again: sealed against writes,
/// growing and shrinking, and against removing the seals. Closed on `exec`.
fn sealed(name: &str, bytes: &[u8]) -> io::Result<OwnedFd> {
    let name = CString::new(name.replace('\0', "")).expect("no NUL is left");
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // Kernels with `vm.memfd_noexec` refuse to map a memfd as code unless it was made with
    // `MFD_EXEC`; those before 6.3 do not know the flag and refuse it.
    let fd = match create(&name, flags | libc::MFD_EXEC) {
        Err(error) if error.raw_os_error() == Some(libc::EINVAL) => create(&name, flags)?,
        made => made?,
    };
    let mut file = File::from(fd);
    file.write_all(bytes)?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: `fcntl` with `F_ADD_SEALS` takes an int argument and reads nothing else; the fd
    // is open, owned by `file`.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(file.into())
}

fn create(name: &CString, flags: libc::c_uint) -> io::Result<OwnedFd> {
    // SAFETY: `name` is a NUL-terminated string that outlives the call.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
    if fd == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `memfd_create` returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
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
