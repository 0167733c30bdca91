//! Reading the files an update is given (the patch, its signature, the trusted keys, the
//! high-water mark): whole, once, and only if they are regular files. A FIFO or a device named
//! as a patch would otherwise block the update, which holds the update lock, or never end.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Opens the regular file at `path` for reading. The open does not wait for a FIFO's writer
/// (`O_NONBLOCK`, which changes nothing for a regular file); what is not a regular file is
/// refused with `InvalidInput`.
pub(crate) fn open_regular(path: &Path) -> io::Result<File> {
    let file = File::options().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "it is not a regular file"));
    }
    Ok(file)
}

/// The whole of the regular file at `path`.
pub(crate) fn read_regular(path: &Path) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_regular(path)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_are_read() {
        let dir = std::env::temp_dir().join(format!("dsu-files-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        let file = dir.join("patch.so");
        std::fs::write(&file, b"bytes").unwrap();
        assert_eq!(read_regular(&file).unwrap(), b"bytes");

        let fifo = dir.join("fifo.so");
        let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: `name` is a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        // No writer ever opens it: a blocking open or read would hang here.
        assert_eq!(read_regular(&fifo).unwrap_err().kind(), io::ErrorKind::InvalidInput);
        assert_eq!(read_regular(&dir).unwrap_err().kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            read_regular(Path::new("/dev/zero")).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
