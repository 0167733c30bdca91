//! The operator's port. It speaks RESP too, so `redis-cli -p <admin port>` is its client:
//!
//! - `UPDATE <file>` applies a patch from the patch directory, and answers the report, one
//!   fact a line;
//! - `ROLLBACK` goes back to the version before;
//! - `STATUS` lists the versions, the futures of updateable `async fn`s still running in each,
//!   and the state cells by type and version.
//!
//! It takes RESP arrays only, as `redis-cli` sends them, and closes a connection that sends
//! anything else: a web page that makes a browser post to the port gets no command in.
//!
//! A refusal is an error reply, `-ERR <kind> <message>`, where `kind` is `UpdateError::kind`
//! or one of the port's own: `patch_outside_directory`, `patch_unreadable`,
//! `wrong_arguments`, `unknown_command`, and `update_failed` if the update's thread panicked.
//! A refused update changes nothing.
//!
//! The same in every version, and never updated: only the running program's copy runs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::resp::{self, Parsed, Progress};

/// Serves the operator until the process ends, each connection in a task of its own.
pub async fn serve(listener: TcpListener, patch_dir: PathBuf) {
    let patch_dir = Arc::new(patch_dir);
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(operator(stream, Arc::clone(&patch_dir)));
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
        }
    }
}

async fn operator(mut stream: TcpStream, patch_dir: Arc<PathBuf>) {
    let (mut input, mut progress) = (Vec::new(), Progress::default());
    loop {
        if input.first().is_some_and(|&first| first != b'*') {
            let mut output = Vec::new();
            resp::error(&mut output, "ERR Protocol error: the admin port takes RESP arrays only");
            let _ = stream.write_all(&output).await;
            return;
        }
        match resp::parse(&input, &mut progress) {
            Parsed::Request(args, used) => {
                input.drain(..used);
                let mut output = Vec::new();
                answer(&args, &patch_dir, &mut output).await;
                if stream.write_all(&output).await.is_err() {
                    return;
                }
            }
            Parsed::Incomplete => match stream.read_buf(&mut input).await {
                Ok(read) if read > 0 => {}
                _ => return,
            },
            Parsed::Invalid(reason) => {
                let mut output = Vec::new();
                resp::error(&mut output, &format!("ERR Protocol error: {reason}"));
                let _ = stream.write_all(&output).await;
                return;
            }
        }
    }
}

async fn answer(args: &[Vec<u8>], patch_dir: &Path, output: &mut Vec<u8>) {
    let words: Vec<String> = args.iter().map(|arg| String::from_utf8_lossy(arg).into()).collect();
    let command = words.first().map(|word| word.to_ascii_uppercase());
    let reply = match (command.as_deref(), &words[words.len().min(1)..]) {
        (None, _) => return,
        (Some("UPDATE"), [path]) => match patch_in(patch_dir, path) {
            // An update may wait for transactions: on a blocking thread, never on a worker.
            Ok(patch) => blocking(move || dsu::update(patch)).await,
            Err(refusal) => Err(refusal),
        },
        (Some("ROLLBACK"), []) => blocking(dsu::rollback).await,
        (Some("STATUS"), []) => Ok(status()),
        (Some("UPDATE" | "ROLLBACK" | "STATUS"), _) => {
            Err(("wrong_arguments", format!("wrong arguments for {}", words[0])))
        }
        (Some(_), _) => Err(("unknown_command", format!("no command {}", words[0]))),
    };
    match reply {
        Ok(text) => resp::bulk(output, text.as_bytes()),
        Err((kind, message)) => resp::error(output, &format!("ERR {kind} {message}")),
    }
}

type Reply = Result<String, (&'static str, String)>;

/// Runs an update or a rollback on a blocking thread, and answers its report.
async fn blocking(
    run: impl FnOnce() -> Result<dsu::UpdateReport, dsu::UpdateError> + Send + 'static,
) -> Reply {
    match tokio::task::spawn_blocking(run).await {
        Ok(Ok(report)) => {
            eprintln!("pubsub: admin: {}", report.to_string().lines().next().unwrap_or_default());
            Ok(report_lines(&report))
        }
        Ok(Err(error)) => Err((error.kind(), error.to_string())),
        // The blocking task panicked: `dsu::update` reports what went wrong as an error, so
        // this is a defect of the update itself.
        Err(failed) => Err(("update_failed", failed.to_string())),
    }
}

/// What an update did, one fact a line: `version`, then a `replaced`, `added`,
/// `converted_cells` line for each item, then the times in microseconds.
fn report_lines(report: &dsu::UpdateReport) -> String {
    let mut text = format!("version {} {}\n", report.version.id, report.version.label);
    for item in &report.replaced {
        let _ = writeln!(text, "replaced {}", item.path);
    }
    for item in &report.added {
        let _ = writeln!(text, "added {}", item.path);
    }
    for cells in &report.converted_cells {
        let _ = writeln!(text, "converted_cells {} {}", cells.type_name, cells.cells);
    }
    let micros = |duration: std::time::Duration| duration.as_secs_f64() * 1e6;
    let _ = writeln!(text, "pause_us {:.1}", micros(report.pause));
    let _ = writeln!(text, "held_us {:.1}", micros(report.held));
    let _ = write!(text, "total_us {:.1}", micros(report.total));
    text
}

/// The versions (`version <id> <label>`), the futures still running (`futures <version>
/// <item> <count>`) and the state cells (`cells <version> <type> <count>`), one a line.
fn status() -> String {
    let status = dsu::status();
    let mut lines = Vec::new();
    for version in &status.versions {
        lines.push(format!("version {} {}", version.id, version.label));
    }
    for futures in &status.futures {
        lines
            .push(format!("futures {} {} {}", futures.version, futures.item.path, futures.running));
    }
    for cells in &status.cells {
        lines.push(format!("cells {} {} {}", cells.version, cells.type_name, cells.cells));
    }
    lines.join("\n")
}

/// The path of a patch, if it is a file directly in the patch directory: an update runs the
/// file's code in this process, so only files the operator put there are accepted.
fn patch_in(patch_dir: &Path, path: &str) -> Result<PathBuf, (&'static str, String)> {
    // A relative path names a file of the patch directory.
    let patch = patch_dir
        .join(path)
        .canonicalize()
        .map_err(|error| ("patch_unreadable", format!("cannot read the patch {path}: {error}")))?;
    if patch.parent() == Some(patch_dir) && patch.is_file() {
        Ok(patch)
    } else {
        let message = format!(
            "refused {path}: patches are loaded only from {}; copy the patch there",
            patch_dir.display()
        );
        Err(("patch_outside_directory", message))
    }
}
