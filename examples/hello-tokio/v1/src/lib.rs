//! hello-tokio, version 1: a tokio server that answers each line with a greeting. It shares its
//! dependencies with its patches (`docs/sharing.md`), so a patch's code runs on this program's
//! runtime and logs through its subscriber.

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

// Links the shared dependencies, in the program and in every patch.
extern crate hello_tokio_shared;

dsu::patch!();

/// Serves clients on `service` and the operator on `admin` until the process ends, each
/// connection in a task of its own.
pub async fn run(service: TcpListener, admin: TcpListener) {
    tokio::spawn(async move {
        while let Ok((socket, _)) = admin.accept().await {
            tokio::spawn(operator(socket));
        }
    });
    while let Ok((socket, peer)) = service.accept().await {
        tokio::spawn(client(socket, peer));
    }
}

/// One client: each line it sends is answered by the version of `answer` that runs when the
/// line comes (an `async fn` cannot be updateable: the loop stays here, its body is updated).
async fn client(socket: TcpStream, peer: SocketAddr) {
    tracing::info!(%peer, "connected");
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if write.write_all(format!("{}\n", answer(&line)).as_bytes()).await.is_err() {
            break;
        }
    }
    tracing::info!(%peer, "disconnected");
}

/// The operator: `update <path>` applies a patch and answers `ok <report>` or `error <kind>:
/// <why>`; `versions` lists the version chain. An update may wait for transactions, so it runs
/// on a blocking thread, never on a worker of the runtime.
async fn operator(socket: TcpStream) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let reply = match line.split_once(' ') {
            Some(("update", path)) => {
                let path = path.to_owned();
                match tokio::task::spawn_blocking(move || dsu::update(path)).await {
                    Ok(Ok(report)) => format!("ok {}", report.to_string().replace('\n', "; ")),
                    Ok(Err(error)) => format!("error {}: {error}", error.kind()),
                    Err(failed) => format!("error update_failed: {failed}"),
                }
            }
            _ if line == "versions" => {
                let versions: Vec<String> =
                    dsu::status().versions.into_iter().map(|version| version.label).collect();
                format!("ok {}", versions.join(" "))
            }
            _ => format!("error unknown_command: {line}"),
        };
        let reply = reply.replace('\n', " ");
        if write.write_all(format!("{reply}\n").as_bytes()).await.is_err() {
            break;
        }
    }
}

/// The answer to one line.
#[dsu::updateable]
pub fn answer(line: &str) -> String {
    format!("hello, {line}")
}
