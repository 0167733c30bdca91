//! The hello-tokio program. This file is never updated: it sets up the runtime and the logs,
//! binds the two ports and hands over to the library.
//!
//! ```text
//! hello-tokio --port <port> --admin-port <port>
//! ```
//!
//! Port 0 takes any free port; the ports taken are printed on the first two lines.

use std::process::ExitCode;

const USAGE: &str = "usage: hello-tokio --port <port> --admin-port <port>";

fn main() -> ExitCode {
    let (mut port, mut admin_port) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next().and_then(|value| value.parse::<u16>().ok())) {
            ("--port", Some(value)) => port = Some(value),
            ("--admin-port", Some(value)) => admin_port = Some(value),
            _ => return fail(USAGE),
        }
    }
    let (Some(port), Some(admin_port)) = (port, admin_port) else { return fail(USAGE) };

    // The program's subscriber: patch code logs through it.
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_ansi(false).init();
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
        println!("hello-tokio {} serving on {}", env!("CARGO_PKG_VERSION"), address(&service));
        println!("admin on {}", address(&admin));
        hello_tokio::run(service, admin).await;
        ExitCode::SUCCESS
    })
}

fn fail(message: &str) -> ExitCode {
    eprintln!("hello-tokio: {message}");
    ExitCode::from(2)
}
