//! The greeter program. This file is never updated: it binds the two ports and hands over to
//! the library, where everything that can change lives.
//!
//! ```text
//! greeter --port <port> --admin-port <port> --patch-dir <dir>
//! ```
//!
//! Port 0 takes any free port; the ports taken are printed on the first two lines.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: greeter --port <port> --admin-port <port> --patch-dir <dir>";

fn main() -> ExitCode {
    let (mut port, mut admin_port, mut patch_dir) = (None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next();
        match (flag.as_str(), value) {
            ("--port", Some(value)) => port = value.parse::<u16>().ok(),
            ("--admin-port", Some(value)) => admin_port = value.parse::<u16>().ok(),
            ("--patch-dir", Some(value)) => patch_dir = Some(PathBuf::from(value)),
            _ => return fail(USAGE),
        }
    }
    let (Some(port), Some(admin_port), Some(patch_dir)) = (port, admin_port, patch_dir) else {
        return fail(USAGE);
    };

    // The library compares patch paths with this one: make it canonical.
    let patch_dir = match patch_dir.canonicalize() {
        Ok(dir) if dir.is_dir() => dir,
        _ => return fail(&format!("patch directory {} does not exist", patch_dir.display())),
    };
    let bind = |port: u16| TcpListener::bind(("127.0.0.1", port));
    let (service, admin) = match (bind(port), bind(admin_port)) {
        (Ok(service), Ok(admin)) => (service, admin),
        (Err(error), _) | (_, Err(error)) => return fail(&format!("cannot listen: {error}")),
    };
    let address = |listener: &TcpListener| listener.local_addr().map(|a| a.to_string());
    println!("greeter {} serving on {}", env!("CARGO_PKG_VERSION"), address(&service).unwrap());
    println!("admin on {}, patches from {}", address(&admin).unwrap(), patch_dir.display());

    greeter::run(service, admin, patch_dir)
}

fn fail(message: &str) -> ExitCode {
    eprintln!("greeter: {message}");
    ExitCode::from(2)
}
