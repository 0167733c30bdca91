//! The operator's endpoint: a Unix socket that speaks RESP, so `redis-cli -s <socket>` is its
//! client. Only the socket's owner can connect (the program makes it `0600`), and patches are
//! loaded only from the patch directory given at start.
//!
//! ```text
//! UPDATE <patch>   apply the patch, a file in the patch directory
//! CHECK <patch>    what UPDATE would do, and why it would refuse: nothing is switched
//! ROLLBACK         return to the version before the last update
//! STATUS           the versions applied, which version's code each function runs, and the
//!                  live state cells (the connections' sessions) by type and version
//! ```
//!
//! Each answer is one JSON document, as a bulk string: `{"ok":true,...}` with the update
//! report (a CHECK's says `"dry_run":true`) or the status, or `{"ok":false,"error":"<kind>","message":"<what to do>"}`, where an
//! error of dsu's is named by `UpdateError::kind`. A refused update changes nothing.

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::json;
use crate::resp::{self, Parsed, Progress};

/// Accepts one operator connection and answers its requests until it hangs up.
#[dsu::updateable]
pub fn accept_admin(listener: &UnixListener, patch_dir: &Path) {
    let Ok((mut stream, _)) = listener.accept() else { return };
    // One operator at a time: one who connects and says nothing must not hold the next back.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut input = Vec::new();
    let mut progress = Progress::default();
    loop {
        let (answer, used) = match resp::parse(&input, &mut progress) {
            Parsed::Request(args, used) if args.is_empty() => (None, used),
            Parsed::Request(args, used) => (Some(admin_command(&args, patch_dir)), used),
            Parsed::Incomplete => {
                let mut chunk = [0; 4096];
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => return,
                    Ok(read) => input.extend_from_slice(&chunk[..read]),
                }
                continue;
            }
            Parsed::Invalid(reason) => {
                let mut out = Vec::new();
                resp::error(&mut out, &format!("ERR Protocol error: {reason}"));
                let _ = stream.write_all(&out);
                return;
            }
        };
        input.drain(..used);
        if let Some(answer) = answer {
            let mut out = Vec::new();
            resp::bulk(&mut out, answer.as_bytes());
            if stream.write_all(&out).is_err() {
                return;
            }
        }
    }
}

/// Carries out one operator command, and answers in JSON.
#[dsu::updateable]
pub fn admin_command(args: &[&[u8]], patch_dir: &Path) -> String {
    let args: Vec<String> = args.iter().map(|arg| String::from_utf8_lossy(arg).into()).collect();
    eprintln!("kvstore: admin: {}", args.join(" "));
    let answer = match (args[0].to_ascii_uppercase().as_str(), &args[1..]) {
        ("UPDATE", [path]) => match patch_in(patch_dir, path) {
            Ok(patch) => outcome(dsu::update(patch)),
            Err(refused) => refused,
        },
        ("CHECK", [path]) => match patch_in(patch_dir, path) {
            Ok(patch) => outcome(dsu::check(patch)),
            Err(refused) => refused,
        },
        ("ROLLBACK", []) => outcome(dsu::rollback()),
        ("STATUS", []) => json::status(&dsu::status()),
        ("UPDATE" | "CHECK" | "ROLLBACK" | "STATUS", _) => json::refusal(
            "wrong_arguments",
            "usage: UPDATE <patch>, CHECK <patch>, ROLLBACK or STATUS",
        ),
        (other, _) => json::refusal(
            "unknown_command",
            &format!("unknown command '{other}': try UPDATE <patch>, CHECK <patch>, ROLLBACK or STATUS"),
        ),
    };
    if answer.starts_with(r#"{"ok":false"#) {
        eprintln!("kvstore: admin: {answer}");
    }
    answer
}

/// Logs what an update, a check or a rollback did, and answers it in JSON.
#[dsu::updateable]
pub fn outcome(outcome: Result<dsu::UpdateReport, dsu::UpdateError>) -> String {
    if let Ok(report) = &outcome {
        eprintln!("kvstore: admin: {}", report.to_string().lines().next().unwrap_or_default());
    }
    json::outcome(outcome)
}

/// The path of a patch, if it is a file directly in the patch directory: an update runs the
/// file's code in this process, so only files the operator put there are accepted. The `Err`
/// is the JSON refusal.
#[dsu::updateable]
pub fn patch_in(patch_dir: &Path, path: &str) -> Result<PathBuf, String> {
    // A relative path names a file of the patch directory.
    let patch = patch_dir.join(path).canonicalize().map_err(|error| {
        json::refusal("patch_unreadable", &format!("cannot read the patch {path}: {error}"))
    })?;
    if patch.parent() == Some(patch_dir) && patch.is_file() {
        Ok(patch)
    } else {
        let message = format!(
            "refused {path}: patches are loaded only from {}; copy the patch there",
            patch_dir.display()
        );
        Err(json::refusal("patch_outside_directory", &message))
    }
}
