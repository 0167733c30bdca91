//! Which patches the program accepts: signed by a key it trusts, and never older than a release
//! it has run.
//!
//! The program names its trust once, at start (`dsu::trust`): minisign public keys, in code or
//! in a file only root (or the program's user) can write, and a high-water mark file. With any
//! key, an update refuses a patch that is not signed by one of them before anything else reads
//! the file, and so before the dynamic loader runs any of it. A signature covers the file's
//! bytes, and so the manifest section: the crate, the build, the base release and the sequence
//! number. The mark keeps the highest sequence number the program has run, across restarts: a
//! patch below it is an old one, replayed.

use std::ffi::OsString;
use std::fmt;
use std::fs::TryLockError;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use minisign_verify::{PublicKey, Signature};
use parking_lot::Mutex;

use crate::error::UpdateError;
use crate::files;
use crate::manifest::Manifest;

/// What the program trusts: the keys whose signatures it accepts, and where it keeps the
/// highest sequence number it has run. Give it to [`trust`] at start.
///
/// ```
/// # use std::os::unix::fs::PermissionsExt;
/// # let dir = std::env::temp_dir().join("dsu-doc-example");
/// # std::fs::create_dir_all(&dir)?;
/// # std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
/// let trust = dsu::Trust::new()
///     // The key `minisign -G` wrote to minisign.pub: its second line, or the whole file.
///     .key("RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3")?
///     // Where the highest sequence number survives a restart.
///     .high_water_mark(std::env::temp_dir().join("dsu-doc-example").join("mark"));
/// dsu::trust(trust)?;
/// // From now on an update takes only patches signed by that key.
/// let patch = std::env::temp_dir().join("doc-example-v2.so");
/// std::fs::write(&patch, "not even a library")?;
/// assert!(matches!(dsu::update(&patch), Err(dsu::UpdateError::Unsigned { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Default)]
pub struct Trust {
    keys: Vec<PublicKey>,
    high_water_mark: Option<PathBuf>,
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trust")
            .field("keys", &self.keys.len())
            .field("high_water_mark", &self.high_water_mark)
            .finish()
    }
}

impl Trust {
    /// Trusts nothing yet.
    pub fn new() -> Trust {
        Trust::default()
    }

    /// Also trusts the minisign public key `key`: the base64 line of a `minisign.pub` file,
    /// or the whole file. Several keys may be trusted at once, to rotate them.
    pub fn key(mut self, key: &str) -> Result<Trust, TrustError> {
        self.keys.push(parse_key(key)?);
        Ok(self)
    }

    /// Also trusts every key in the file at `path`: minisign public keys, each the base64 line
    /// of a `minisign.pub` (its `untrusted comment:` lines, `#` comments and blank lines are
    /// skipped). The file and every directory above it must be writable only by root or by the
    /// program's user: whoever can write it chooses what the program runs.
    pub fn keys_file(mut self, path: impl AsRef<Path>) -> Result<Trust, TrustError> {
        let path = path.as_ref();
        let text = read_private(path)
            .map_err(|reason| TrustError::KeysFile { path: path.to_owned(), reason })?;
        let lines = text.lines().map(str::trim);
        let keys: Vec<&str> = lines
            .filter(|line| {
                !line.is_empty()
                    && !line.starts_with('#')
                    && !line.starts_with("untrusted comment:")
            })
            .collect();
        if keys.is_empty() {
            let reason = "it holds no key".to_owned();
            return Err(TrustError::KeysFile { path: path.to_owned(), reason });
        }
        for key in keys {
            self.keys.push(parse_key(key)?);
        }
        Ok(self)
    }

    /// Keeps the highest sequence number the program has run in the file at `path`, which is
    /// read at [`trust`] and written before each patch that raises it is loaded. A patch whose
    /// sequence number is below it is refused, after restarts too. Its directory, and every one
    /// above, must be writable only by root or by the program's user. Each use re-reads the
    /// file holding a lock on `<path>.lock`, so programs that share a mark raise it for each
    /// other and never lower it.
    pub fn high_water_mark(mut self, path: impl AsRef<Path>) -> Trust {
        self.high_water_mark = Some(path.as_ref().to_owned());
        self
    }
}

/// Why [`trust`] could not take a [`Trust`]. The program trusts what it trusted before.
#[derive(Debug)]
#[non_exhaustive]
pub enum TrustError {
    /// A key is not a minisign Ed25519 public key.
    InvalidKey {
        /// The key as given.
        key: String,
    },
    /// A keys file could not be read, or others than root and the program's user can write it.
    KeysFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The high-water mark could not be read or written, or others than root and the
    /// program's user can write it.
    HighWaterMark {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The program's trust was set already: it is set once, at start.
    AlreadySet,
    /// An update loaded a patch before the program set its trust: code no key vouched for may
    /// have run, whether or not the update committed. The trust is set at start, before the
    /// first update.
    AfterUpdate,
    /// `trust` was called from a patch's code: only the program sets its trust.
    InPatch,
    /// `trust` was called by code an update runs (an initialiser of the program's): the trust
    /// is set before the first update, and this one would wait for itself.
    InsideUpdate,
}

impl fmt::Display for TrustError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustError::InvalidKey { key } => write!(
                f,
                "`{key}` is not a minisign public key; give the second line of the minisign.pub \
                 that `minisign -G` wrote"
            ),
            TrustError::KeysFile { path, reason } => write!(
                f,
                "cannot trust the keys in {}: {reason}; make it a file only root can write",
                path.display()
            ),
            TrustError::HighWaterMark { path, reason } => write!(
                f,
                "cannot keep the high-water mark in {}: {reason}; name a file in a directory \
                 only root can write",
                path.display()
            ),
            TrustError::AlreadySet => {
                write!(f, "the program's trust is set already; set it once, at start")
            }
            TrustError::AfterUpdate => write!(
                f,
                "an update loaded a patch before the program set its trust, so code no trusted \
                 key signed may have run; set the trust at start, before the first update, and \
                 restart the program"
            ),
            TrustError::InPatch => {
                write!(f, "a patch cannot set the program's trust; set it in the program, at start")
            }
            TrustError::InsideUpdate => write!(
                f,
                "the trust cannot be set by code an update runs (a global's initialiser); set it \
                 in the program, at start"
            ),
        }
    }
}

impl std::error::Error for TrustError {}

crate::fingerprint::dsu_types! { Trust, TrustError, }

/// The trust the program set.
struct Trusted {
    keys: Vec<PublicKey>,
    mark: Option<Mark>,
}

/// The high-water mark: its file, the lock file beside it, and the highest value this process
/// has seen there. Each use re-reads the file under the lock, and the mark is only ever
/// raised: another process that keeps its mark in the same file (the next instance of the
/// program, started before this one ends) raises it for both.
struct Mark {
    path: PathBuf,
    lock: File,
    seen: Mutex<u64>,
}

impl Mark {
    /// Opens the mark at `path`, and raises it to `own`, the program's own sequence number.
    fn open(path: PathBuf, own: u64) -> Result<Mark, String> {
        check_mark_directory(&path)?;
        let mut name = OsString::from(path.as_os_str());
        name.push(".lock");
        let lock = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&name)
            .map_err(|e| format!("its lock file {}: {e}", PathBuf::from(&name).display()))?;
        let mut mark = Mark { path, lock, seen: Mutex::new(0) };
        let seen = {
            let _held = mark.hold().map_err(|e| e.to_string())?;
            let read = read_mark(&mark.path)?;
            if own > read {
                write_mark(&mark.path, own).map_err(|e| e.to_string())?;
            }
            read.max(own)
        };
        *mark.seen.get_mut() = seen;
        Ok(mark)
    }

    /// Holds the lock file until the guard drops: between processes, one use at a time. A
    /// process that holds it for longer than `LOCK_WAIT` (stopped, say) makes this an error,
    /// not a wait without end under the update lock.
    fn hold(&self) -> io::Result<Held<'_>> {
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match self.lock.try_lock() {
                Ok(()) => return Ok(Held(&self.lock)),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WouldBlock,
                        format!("another process has held its lock file for {LOCK_WAIT:?}"),
                    ));
                }
                Err(TryLockError::Error(error)) => return Err(error),
            }
        }
    }

    /// The highest sequence number in the file or seen by this process.
    fn newest(&self) -> io::Result<u64> {
        let mut seen = self.seen.lock();
        let _held = self.hold()?;
        self.current(&mut seen)
    }

    fn current(&self, seen: &mut u64) -> io::Result<u64> {
        let read = read_mark(&self.path).map_err(io::Error::other)?;
        *seen = (*seen).max(read);
        Ok(*seen)
    }

    /// Raises the mark to `sequence`, in one hold of the lock: `Err(newest)` if the mark is
    /// above it already (another process may have raised it since the check).
    fn raise(&self, sequence: u64) -> io::Result<Result<(), u64>> {
        let mut seen = self.seen.lock();
        let _held = self.hold()?;
        let newest = self.current(&mut seen)?;
        if sequence < newest {
            return Ok(Err(newest));
        }
        if sequence > newest {
            write_mark(&self.path, sequence)?;
            *seen = sequence;
        }
        Ok(Ok(()))
    }
}

/// How long the mark's users wait for another process's hold of its lock file.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// The lock on a mark's lock file, released when dropped.
struct Held<'a>(&'a File);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

static TRUSTED: OnceLock<Trusted> = OnceLock::new();

/// Sets the program's trust, once, at start: from then on every update checks it (see
/// [`Trust`]). Reads the high-water mark, and raises it to the program's own sequence number.
pub fn trust(trust: Trust) -> Result<(), TrustError> {
    if crate::context::host().is_some() {
        return Err(TrustError::InPatch);
    }
    if crate::gate::is_updater() {
        return Err(TrustError::InsideUpdate);
    }
    // Held until the trust is set: an update that has started finishes first, and one that
    // starts waits, then checks what was set.
    let registry = crate::registry::registry().lock();
    if TRUSTED.get().is_some() {
        return Err(TrustError::AlreadySet);
    }
    // Relaxed: stored under the registry lock, which this thread holds.
    if LOADED.load(Ordering::Relaxed) {
        return Err(TrustError::AfterUpdate);
    }
    let mark = match trust.high_water_mark {
        None => None,
        Some(path) => {
            let own = registry.running().sequence;
            let mark = Mark::open(path.clone(), own)
                .map_err(|reason| TrustError::HighWaterMark { path, reason })?;
            Some(mark)
        }
    };
    TRUSTED.set(Trusted { keys: trust.keys, mark }).map_err(|_| TrustError::AlreadySet)
}

fn parse_key(key: &str) -> Result<PublicKey, TrustError> {
    let trimmed = key.trim();
    let parsed = if trimmed.contains('\n') {
        PublicKey::decode(trimmed)
    } else {
        PublicKey::from_base64(trimmed)
    };
    parsed.map_err(|_| TrustError::InvalidKey { key: key.to_owned() })
}

/// Where the signature of the patch at `path` is unless the options name one: `<path>.minisig`,
/// where `minisign -S` writes it.
pub(crate) fn signature_path(path: &Path) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(".minisig");
    PathBuf::from(name)
}

/// Refuses `bytes`, the file at `path`, unless a key the program trusts signed it, in the
/// file at `signature` (or `signature_path(path)`): `true` once checked. Passes everything
/// when the program trusts no key, reading no signature: `false`.
pub(crate) fn check_signature(
    path: &Path,
    signature: Option<&Path>,
    bytes: &[u8],
) -> Result<bool, UpdateError> {
    let Some(trusted) = TRUSTED.get().filter(|trusted| !trusted.keys.is_empty()) else {
        return Ok(false);
    };
    let signature_file = signature.map_or_else(|| signature_path(path), Path::to_owned);
    let refused = |reason: String| UpdateError::BadSignature { path: path.to_owned(), reason };
    let text = match files::read_regular(&signature_file) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(UpdateError::Unsigned { path: path.to_owned(), signature: signature_file });
        }
        Err(error) => {
            return Err(refused(format!(
                "its signature {} cannot be read: {error}",
                signature_file.display()
            )));
        }
    };
    let signature = Signature::decode(&text).map_err(|_| {
        refused(format!("{} is not a minisign signature", signature_file.display()))
    })?;
    let mut matched_key = false;
    for key in &trusted.keys {
        match key.verify(bytes, &signature, true) {
            Ok(()) => return Ok(true),
            Err(minisign_verify::Error::UnexpectedKeyId) => {}
            Err(_) => matched_key = true,
        }
    }
    Err(refused(if matched_key {
        "its signature, by a key the program trusts, is not of these bytes: the file changed \
         after it was signed"
            .to_owned()
    } else {
        "it is not signed by a key the program trusts".to_owned()
    }))
}

/// Refuses a patch whose release is not newer than every one the program has run (the
/// high-water mark), and, when the program trusts keys, one that does not say which release it
/// is and what it is built on.
pub(crate) fn check_release(path: &Path, manifest: &Manifest) -> Result<(), UpdateError> {
    let Some(trusted) = TRUSTED.get() else { return Ok(()) };
    if !trusted.keys.is_empty() && (manifest.sequence() == 0 || manifest.base().is_none()) {
        return Err(UpdateError::UndeclaredRelease { path: path.to_owned() });
    }
    if let Some(mark) = &trusted.mark {
        let newest = mark
            .newest()
            .map_err(|source| UpdateError::HighWaterMark { path: mark.path.clone(), source })?;
        if manifest.sequence() < newest {
            return Err(UpdateError::StaleSequence {
                path: path.to_owned(),
                sequence: manifest.sequence(),
                newest,
            });
        }
    }
    Ok(())
}

/// Whether the code of a patch was ever given to the dynamic loader: its initialisers may have
/// run, even if the update did not commit. Set under the registry lock, and read under it.
static LOADED: AtomicBool = AtomicBool::new(false);

/// The last step before the patch `manifest` describes is loaded: raises the high-water mark
/// to its sequence number, if the program keeps one and the number is above it, and notes
/// that patch code is about to run. The mark is checked again in the same hold of its lock
/// that raises it, so another process that raised it since `check_release` is not missed.
///
/// The mark is written before loading, so that no patch runs unless the mark says it may
/// have, and never lowered: an update that loads the patch and then does not commit leaves
/// the mark at its sequence number. That patch, or a later one, still applies; an earlier
/// one does not.
pub(crate) fn before_load(path: &Path, manifest: &Manifest) -> Result<(), UpdateError> {
    if let Some(mark) = TRUSTED.get().and_then(|trusted| trusted.mark.as_ref()) {
        let sequence = manifest.sequence();
        let raised = mark
            .raise(sequence)
            .map_err(|source| UpdateError::HighWaterMark { path: mark.path.clone(), source })?;
        if let Err(newest) = raised {
            return Err(UpdateError::StaleSequence { path: path.to_owned(), sequence, newest });
        }
    }
    LOADED.store(true, Ordering::Relaxed);
    Ok(())
}

/// Refuses a mark whose directory others can write.
fn check_mark_directory(path: &Path) -> Result<(), String> {
    let directory =
        path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    check_private_chain(directory)?;
    // In a sticky directory (`/tmp`) others may plant the mark's name, and cleaners delete
    // it: a mark that disappears would let every old release in again.
    let metadata = fs::metadata(directory).map_err(|e| format!("{}: {e}", directory.display()))?;
    if metadata.mode() & 0o002 != 0 {
        return Err(format!(
            "{} can be written by other users; keep the mark in a directory of the program's",
            directory.display()
        ));
    }
    Ok(())
}

/// The mark in the file at `path`, 0 if there is none yet.
fn read_mark(path: &Path) -> Result<u64, String> {
    check_mark_directory(path)?;
    match read_private(path) {
        Ok(text) => text
            .trim()
            .parse()
            .map_err(|_| format!("it holds `{}`, not a sequence number", text.trim())),
        Err(_) if !path.exists() => Ok(0),
        Err(reason) => Err(reason),
    }
}

/// Replaces the mark in the file at `path` with `value`, whole: written to a file beside it,
/// synced, and renamed over it.
fn write_mark(path: &Path, value: u64) -> io::Result<()> {
    let mut temporary = OsString::from(path.as_os_str());
    temporary.push(".new");
    let temporary = PathBuf::from(temporary);
    let mut file = File::create(&temporary)?;
    writeln!(file, "{value}")?;
    file.sync_all()?;
    fs::rename(&temporary, path)?;
    if let Some(directory) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        File::open(directory)?.sync_all()?;
    }
    Ok(())
}

/// Reads the file at `path`, refusing it if another user than root or the program's could
/// have written it, or the directories that lead to it.
fn read_private(path: &Path) -> Result<String, String> {
    let mut file = files::open_regular(path).map_err(|e| e.to_string())?;
    let metadata = file.metadata().map_err(|e| e.to_string())?;
    check_private(path, &metadata, false)?;
    if let Some(directory) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        check_private_chain(directory)?;
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(|e| e.to_string())?;
    Ok(text)
}

/// Checks `directory` and every directory above it.
fn check_private_chain(directory: &Path) -> Result<(), String> {
    let directory =
        directory.canonicalize().map_err(|e| format!("{}: {e}", directory.display()))?;
    for ancestor in directory.ancestors() {
        let metadata =
            fs::metadata(ancestor).map_err(|e| format!("{}: {e}", ancestor.display()))?;
        check_private(ancestor, &metadata, true)?;
    }
    Ok(())
}

/// Refuses what a user other than root and the program's owns, or what its group or others
/// can write (a directory may be world-writable if it is sticky, as `/tmp` is: others cannot
/// replace what is in it).
fn check_private(path: &Path, metadata: &fs::Metadata, directory: bool) -> Result<(), String> {
    // SAFETY: `geteuid` reads the process's effective user id; it cannot fail.
    let user = unsafe { libc::geteuid() };
    if metadata.uid() != 0 && metadata.uid() != user {
        return Err(format!("{} is owned by user {}", path.display(), metadata.uid()));
    }
    let sticky = directory && metadata.mode() & 0o1000 != 0;
    if metadata.mode() & 0o022 != 0 && !sticky {
        return Err(format!("{} can be written by other users", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// A minisign public key, as minisign.pub holds it.
    const PUBLIC: &str = "untrusted comment: minisign public key 3A5FC1B4E6734D33\n\
                          RWQzTXPmtMFfOtzIbpmBB1ZDuxFcqQGEj0Yd3a3TI8k0xpeDC2wVLX5X\n";

    #[test]
    fn a_key_is_its_line_or_its_whole_file() {
        let line = PUBLIC.lines().nth(1).unwrap();
        assert!(parse_key(line).is_ok() && parse_key(PUBLIC).is_ok());
        for bad in ["", "not base64!", "RWQzTXPm", &line.replace("RWQ", "RWX")] {
            assert!(matches!(parse_key(bad), Err(TrustError::InvalidKey { .. })), "{bad}");
        }
    }

    #[test]
    fn a_signature_is_found_beside_its_patch() {
        assert_eq!(signature_path(Path::new("/srv/v2.so")), Path::new("/srv/v2.so.minisig"));
    }

    /// An empty directory of this process's, with `mode`, under the temporary directory.
    fn fresh_dir(name: &str, mode: u32) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dsu-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).unwrap();
        dir
    }

    #[test]
    fn files_others_can_write_are_refused() {
        let dir = fresh_dir("trust-test", 0o755);
        let file = dir.join("keys");
        fs::write(&file, PUBLIC).unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(read_private(&file).unwrap(), PUBLIC);
        fs::set_permissions(&file, fs::Permissions::from_mode(0o666)).unwrap();
        assert!(read_private(&file).unwrap_err().contains("can be written by other users"));
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        assert!(read_private(&file).unwrap_err().contains("can be written by other users"));
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o1777)).unwrap();
        assert_eq!(read_private(&file).unwrap(), PUBLIC, "a sticky directory, as /tmp");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_mark_is_replaced_whole_and_read_back() {
        let dir = fresh_dir("mark-test", 0o1777);
        let mark = dir.join("mark");
        assert!(read_mark(&mark).unwrap_err().contains("can be written by other users"));
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(read_mark(&mark).unwrap(), 0, "no file yet");
        write_mark(&mark, 7).unwrap();
        assert_eq!(read_mark(&mark).unwrap(), 7);
        fs::write(&mark, "seven\n").unwrap();
        assert!(read_mark(&mark).unwrap_err().contains("not a sequence number"));
        fs::remove_dir_all(&dir).unwrap();
    }

    /// Two processes that keep their mark in one file (two `Mark`s here, each with its own
    /// open lock file, which contend as two processes' would) raise it for both, and neither
    /// lowers it; a raise re-checks what the other wrote since.
    #[test]
    fn a_shared_mark_is_only_raised() {
        let dir = fresh_dir("shared-mark", 0o755);
        let path = dir.join("mark");
        let first = Mark::open(path.clone(), 1).unwrap();
        let second = Mark::open(path.clone(), 1).unwrap();
        assert_eq!(first.raise(5).unwrap(), Ok(()));
        assert_eq!(second.newest().unwrap(), 5, "the other's raise is read");
        assert_eq!(second.raise(4).unwrap(), Err(5), "a raise re-checks, and never lowers");
        assert_eq!(second.raise(5).unwrap(), Ok(()), "the newest release may be applied again");
        assert_eq!(second.raise(7).unwrap(), Ok(()));
        assert_eq!(first.raise(6).unwrap(), Err(7));
        assert_eq!(read_mark(&path).unwrap(), 7);
        let third = Mark::open(path.clone(), 9).unwrap();
        assert_eq!(third.newest().unwrap(), 9, "a program newer than the mark raises it");
        assert_eq!(first.newest().unwrap(), 9);
        // A process that holds the lock makes the others' uses errors, after a while.
        let held = third.hold().unwrap();
        assert_eq!(first.newest().unwrap_err().kind(), io::ErrorKind::WouldBlock);
        drop(held);
        assert_eq!(first.newest().unwrap(), 9);
        fs::remove_dir_all(&dir).unwrap();
    }
}
