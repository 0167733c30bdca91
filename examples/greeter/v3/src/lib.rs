//! greeter: a small TCP service that is updated while it runs.
//!
//! Clients speak a line protocol on one port: one request per line, one response line each.
//!
//! ```text
//! ping            pong
//! hello <name>    a greeting
//! reverse <text>  the text backwards
//! stats           how many requests were served
//! version         the version of the program now serving, e.g. greeter@1.0.0
//! ```
//!
//! An operator speaks to a second port, on 127.0.0.1 only: one command per connection, answered
//! with some lines and then `END ok` or `END error`.
//!
//! ```text
//! update <path>   switch to the patch at <path>, a file in the patch directory
//! rollback        return to the version before the last update
//! status          the versions applied, and which version's code each function runs
//! ```
//!
//! The rules that make it updateable:
//!
//! * every function that answers a request is `#[dsu::updateable]`: the next call after an
//!   update runs the new version's body;
//! * a loop never changes its own code, so no loop does real work: each turn of it calls an
//!   updateable function (`accept_client`, `serve_one_request`, `accept_admin`), and a client
//!   connected for hours gets each new version at its next request;
//! * everything a later version may change lives in updateable bodies. A plain helper or a
//!   `const` changed in a patch would not reach the callers whose own code did not change;
//! * answering one request is a transaction: `respond` and what it calls run in one version,
//!   even when an update lands in the middle. Reading the next request is not part of it, so
//!   a client that sends nothing never holds an update back.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

dsu::patch!();

/// Serves clients on `service` and the operator on `admin` until the process ends.
///
/// Not updateable: it never returns, so a new version could never take over. It only starts
/// the two loops.
pub fn run(service: TcpListener, admin: TcpListener, patch_dir: PathBuf) -> ! {
    thread::spawn(move || loop {
        accept_admin(&admin, &patch_dir);
    });
    loop {
        accept_client(&service);
    }
}

/// Accepts one client and serves it on a thread of its own.
#[dsu::updateable]
pub fn accept_client(listener: &TcpListener) {
    match listener.accept() {
        Ok((stream, _)) => {
            thread::spawn(move || serve_connection(stream));
        }
        Err(error) => eprintln!("greeter: accept failed: {error}"),
    }
}

/// Serves one client until it hangs up.
#[dsu::updateable]
pub fn serve_connection(stream: TcpStream) {
    let peer = stream.peer_addr().map_or_else(|_| "?".to_owned(), |a| a.to_string());
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    eprintln!("greeter: {peer} connected");
    while serve_one_request(&mut reader, &mut writer) {}
    eprintln!("greeter: {peer} disconnected");
}

/// Reads one request and writes its response. False once the client is gone.
#[dsu::updateable]
pub fn serve_one_request(reader: &mut BufReader<TcpStream>, writer: &mut TcpStream) -> bool {
    let mut request = String::new();
    match reader.read_line(&mut request) {
        Ok(0) | Err(_) => false,
        Ok(_) => writeln!(writer, "{}", respond(request.trim_end())).is_ok(),
    }
}

/// The response to one request, all of it from one version.
#[dsu::transaction]
#[dsu::updateable]
pub fn respond(request: &str) -> String {
    count_request();
    let (command, argument) = request.split_once(' ').unwrap_or((request, ""));
    match command {
        "ping" => "pong".to_owned(),
        "hello" => hello(argument),
        "reverse" => reverse(argument),
        "stats" => stats(),
        "version" => version(),
        _ => format!("error: unknown command `{command}`"),
    }
}

/// Capitalizes the name, and welcomes.
#[dsu::updateable]
pub fn hello(name: &str) -> String {
    let mut letters = name.chars();
    let first = letters.next().map(|letter| letter.to_uppercase().to_string()).unwrap_or_default();
    format!("Hello, {first}{}! Nice to meet you.", letters.as_str())
}

/// Reverses characters. (Version 2 reversed bytes, which mangled every character of more
/// than one byte: `reverse héllo` answered `oll��h`.)
#[dsu::updateable]
pub fn reverse(text: &str) -> String {
    text.chars().rev().collect()
}

#[dsu::updateable]
pub fn stats() -> String {
    format!("requests served since version 3: {}", requests_served())
}

/// Requests answered, on every connection, since this version was applied: a patch's statics
/// are its own and start afresh. Only the two functions below touch it, so a later version
/// that leaves their bodies alone keeps running this version's code for them, and so keeps
/// counting in this very static.
static REQUESTS: AtomicU64 = AtomicU64::new(0);

#[dsu::updateable]
pub fn count_request() {
    REQUESTS.fetch_add(1, Ordering::Relaxed);
}

#[dsu::updateable]
pub fn requests_served() -> u64 {
    REQUESTS.load(Ordering::Relaxed)
}

/// Asks dsu rather than `env!("CARGO_PKG_VERSION")`: this body does not change between
/// versions, so after an update it is still version 1's code that runs it.
#[dsu::updateable]
pub fn version() -> String {
    let status = dsu::status();
    status.versions.last().map(|running| running.label.clone()).unwrap_or_default()
}

/// Accepts one operator connection and answers its one command.
#[dsu::updateable]
pub fn accept_admin(listener: &TcpListener, patch_dir: &Path) {
    let Ok((stream, _)) = listener.accept() else { return };
    let Ok(mut writer) = stream.try_clone() else { return };
    // One operator at a time: one who connects and says nothing must not block the next.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut command = String::new();
    if BufReader::new(stream).read_line(&mut command).is_err() {
        return;
    }
    let command = command.trim();
    eprintln!("greeter: admin: {command}");
    let (text, outcome) = match admin(command, patch_dir) {
        Ok(text) => (text, "ok"),
        Err(text) => (text, "error"),
    };
    let _ = write!(writer, "{}\nEND {outcome}\n", text.trim_end());
}

/// Carries out one operator command.
#[dsu::updateable]
pub fn admin(command: &str, patch_dir: &Path) -> Result<String, String> {
    let (verb, argument) = command.split_once(' ').unwrap_or((command, ""));
    match verb {
        "update" => {
            let patch = patch_in(patch_dir, argument.trim())?;
            dsu::update(patch).map(|report| report.to_string()).map_err(|error| error.to_string())
        }
        "rollback" => {
            dsu::rollback().map(|report| report.to_string()).map_err(|error| error.to_string())
        }
        "status" => Ok(dsu::status().to_string()),
        _ => Err(format!("unknown admin command `{verb}`: try update <path>, rollback or status")),
    }
}

/// The path of a patch, if it is a file directly in the patch directory: an update runs
/// the file's code in this process, so only files the operator put there are accepted.
#[dsu::updateable]
pub fn patch_in(patch_dir: &Path, path: &str) -> Result<PathBuf, String> {
    let patch = Path::new(path)
        .canonicalize()
        .map_err(|error| format!("cannot read patch {path}: {error}"))?;
    if patch.parent() == Some(patch_dir) {
        Ok(patch)
    } else {
        Err(format!("refused: {path} is not in the patch directory {}", patch_dir.display()))
    }
}
