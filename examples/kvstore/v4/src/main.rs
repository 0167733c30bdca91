//! The kvstore program. This file is never updated: it binds the client port and the admin
//! socket and hands over to the library, where everything that can change lives.
//!
//! ```text
//! kvstore --port <port> --admin-socket <path> --patch-dir <dir>
//! ```
//!
//! Port 0 takes any free port; the address taken is printed on the first line.

use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: kvstore --port <port> --admin-socket <path> --patch-dir <dir>";

fn main() -> ExitCode {
    let (mut port, mut socket, mut patch_dir) = (None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next();
        match (flag.as_str(), value) {
            ("--port", Some(value)) => port = value.parse::<u16>().ok(),
            ("--admin-socket", Some(value)) => socket = Some(PathBuf::from(value)),
            ("--patch-dir", Some(value)) => patch_dir = Some(PathBuf::from(value)),
            _ => return fail(USAGE),
        }
    }
    let (Some(port), Some(socket), Some(patch_dir)) = (port, socket, patch_dir) else {
        return fail(USAGE);
    };

    // The library compares patch paths with this one: make it canonical.
    let patch_dir = match patch_dir.canonicalize() {
        Ok(dir) if dir.is_dir() => dir,
        _ => return fail(&format!("patch directory {} does not exist", patch_dir.display())),
    };
    // An update runs the code of a file in the patch directory: only this user may put one
    // there.
    let owner = |path: &Path| std::fs::metadata(path).map(|meta| (meta.uid(), meta.mode()));
    match (owner(&patch_dir), owner(Path::new("/proc/self"))) {
        (Ok((uid, mode)), Ok((me, _))) if uid == me && mode & 0o022 == 0 => {}
        _ => {
            let dir = patch_dir.display();
            return fail(&format!(
                "patch directory {dir} must be this user's and writable by no one else \
                 (chown it, and chmod go-w {dir})"
            ));
        }
    }
    let service = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(listener) => listener,
        Err(error) => return fail(&format!("cannot listen on port {port}: {error}")),
    };
    // A socket file left by an earlier run would make the bind fail.
    if std::fs::symlink_metadata(&socket).is_ok_and(|meta| {
        use std::os::unix::fs::FileTypeExt;
        meta.file_type().is_socket()
    }) {
        let _ = std::fs::remove_file(&socket);
    }
    let admin = match UnixListener::bind(&socket) {
        Ok(listener) => listener,
        Err(error) => return fail(&format!("cannot listen on {}: {error}", socket.display())),
    };
    // The admin socket loads code into this process: only its owner may connect.
    if let Err(error) = std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600)) {
        return fail(&format!("cannot restrict {}: {error}", socket.display()));
    }
    let address = service.local_addr().map(|a| a.to_string()).unwrap_or_default();
    println!("kvstore {} serving on {address}", env!("CARGO_PKG_VERSION"));
    println!("admin on {}, patches from {}", socket.display(), patch_dir.display());

    kvstore::run(service, admin, patch_dir)
}

fn fail(message: &str) -> ExitCode {
    eprintln!("kvstore: {message}");
    ExitCode::from(2)
}
