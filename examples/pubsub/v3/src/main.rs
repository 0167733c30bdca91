//! The pubsub program. This file is never updated: it reads the arguments, starts the runtime,
//! binds the two ports and hands over to the library.
//!
//! ```text
//! pubsub --port <port> --admin-port <port> --patch-dir <dir>
//! ```
//!
//! Port 0 takes any free port; the ports taken are printed on the first two lines. Both listen
//! on 127.0.0.1 only. The admin port loads patches from `--patch-dir` only.

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: pubsub --port <port> --admin-port <port> --patch-dir <dir>";

fn main() -> ExitCode {
    let (mut port, mut admin_port, mut patch_dir) = (None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let Some(value) = args.next() else { return fail(USAGE) };
        match flag.as_str() {
            "--port" => port = value.parse::<u16>().ok(),
            "--admin-port" => admin_port = value.parse::<u16>().ok(),
            "--patch-dir" => patch_dir = Some(PathBuf::from(value)),
            _ => return fail(USAGE),
        }
    }
    let (Some(port), Some(admin_port), Some(patch_dir)) = (port, admin_port, patch_dir) else {
        return fail(USAGE);
    };
    let patch_dir = match patch_dir.canonicalize() {
        Ok(dir) if dir.is_dir() => dir,
        _ => return fail(&format!("no directory {}", patch_dir.display())),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => return fail(&format!("cannot start the runtime: {error}")),
    };
    runtime.block_on(async {
        let bind = |port: u16| tokio::net::TcpListener::bind(("127.0.0.1", port));
        let (service, admin) = match (bind(port).await, bind(admin_port).await) {
            (Ok(service), Ok(admin)) => (service, admin),
            (Err(error), _) | (_, Err(error)) => return fail(&format!("cannot listen: {error}")),
        };
        let address = |listener: &tokio::net::TcpListener| listener.local_addr().unwrap();
        println!("pubsub {} serving on {}", env!("CARGO_PKG_VERSION"), address(&service));
        println!("admin on {}", address(&admin));
        pubsub::run(service, admin, patch_dir).await;
        ExitCode::SUCCESS
    })
}

fn fail(message: &str) -> ExitCode {
    eprintln!("pubsub: {message}");
    ExitCode::from(2)
}
