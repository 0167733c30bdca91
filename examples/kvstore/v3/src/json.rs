//! The admin endpoint's JSON, written by hand: a few small documents need no library.
//!
//! Plain functions: the documents' shape is the endpoint's contract with its operators'
//! tools, the same in every version.

use std::time::{Duration, SystemTime};

use dsu::{
    ConvertedCells, ConvertedGlobal, ItemRef, Reached, Status, Unreached, UpdateError,
    UpdateReport, VersionInfo,
};

/// The answer to an update, a check or a rollback.
pub fn outcome(result: Result<UpdateReport, UpdateError>) -> String {
    match result {
        Ok(report) => self::report(&report),
        Err(error) => refusal(error.kind(), &error.to_string()),
    }
}

/// `{"ok":false,"error":kind,"message":message}`
pub fn refusal(kind: &str, message: &str) -> String {
    format!(r#"{{"ok":false,"error":{},"message":{}}}"#, string(kind), string(message))
}

/// An update's report, or a check's (`dry_run`). The durations are in microseconds: `pause`
/// is the commit, `held` the longest a request may have waited for the update.
pub fn report(report: &UpdateReport) -> String {
    let globals = list(report.added_globals.iter().map(global));
    let forked = report.forked.iter().map(|forked| {
        format!(r#"{{"state":{},"by":{}}}"#, string(&forked.state), string(&forked.by))
    });
    format!(
        concat!(
            r#"{{"ok":true,"dry_run":{},"version":{},"replaced":{},"reached":{},"unreached":{},"#,
            r#""forked":{},"added":{},"signature_changed":{},"#,
            r#""removed":{},"unchanged":{},"added_globals":{},"converted":{},"#,
            r#""converted_cells":{},"pause_us":{},"held_us":{},"#,
            r#""total_us":{},"waited_us":{},"waited_for":{},"message":{}}}"#
        ),
        report.dry_run,
        version(&report.version),
        list(report.replaced.iter().map(item)),
        list(report.reached.iter().map(reached)),
        list(report.unreached.iter().map(unreached)),
        list(forked),
        list(report.added.iter().map(item)),
        list(report.signature_changed.iter().map(item)),
        list(report.removed.iter().map(item)),
        report.unchanged,
        globals,
        list(report.converted.iter().map(converted)),
        list(report.converted_cells.iter().map(converted_cells)),
        micros(report.pause),
        micros(report.held),
        micros(report.total),
        micros(report.waited),
        list(report.waited_for.iter().map(|origin| string(origin))),
        string(report.to_string().trim_end()),
    )
}

/// What the program runs now.
pub fn status(status: &Status) -> String {
    let items = status.items.iter().map(|item| {
        let (path, signature) = (string(&item.item.path), string(&item.item.signature));
        format!(r#"{{"path":{path},"signature":{signature},"version":{}}}"#, item.version)
    });
    let globals = status.globals.iter().map(|global| {
        let (path, ty) = (string(&global.global.path), string(&global.global.signature));
        format!(r#"{{"path":{path},"type":{ty},"since":{}}}"#, global.since)
    });
    let cells = status.cells.iter().map(|cells| {
        let ty = string(&cells.type_name);
        format!(r#"{{"type":{ty},"version":{},"cells":{}}}"#, cells.version, cells.cells)
    });
    format!(
        r#"{{"ok":true,"versions":{},"items":{},"globals":{},"cells":{}}}"#,
        list(status.versions.iter().map(version)),
        list(items),
        list(globals),
        list(cells)
    )
}

fn version(version: &VersionInfo) -> String {
    let applied = version.applied_at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    format!(
        r#"{{"id":{},"label":{},"path":{},"applied_at":{:.3}}}"#,
        version.id,
        string(&version.label),
        string(&version.path.to_string_lossy()),
        applied.as_secs_f64()
    )
}

fn item(item: &ItemRef) -> String {
    format!(r#"{{"path":{},"signature":{}}}"#, string(&item.path), string(&item.signature))
}

/// An item switched because its code reaches a changed plain item, `through` the items to it.
fn reached(reached: &Reached) -> String {
    let through = list(reached.through.iter().map(|path| string(path)));
    format!(r#"{{"item":{},"through":{through}}}"#, item(&reached.item))
}

/// A change code no update switches reaches: `root` says why that code runs.
fn unreached(unreached: &Unreached) -> String {
    let chain = list(unreached.chain.iter().map(|path| string(path)));
    let (changed, root) = (string(&unreached.item), string(&unreached.root));
    format!(r#"{{"item":{changed},"root":{root},"chain":{chain}}}"#)
}

/// A global: its `signature` is its type.
fn global(global: &ItemRef) -> String {
    format!(r#"{{"path":{},"type":{}}}"#, string(&global.path), string(&global.signature))
}

/// A global the update converted: its new type, the type before, the values the transformers
/// made, and how long it took in microseconds.
fn converted(converted: &ConvertedGlobal) -> String {
    format!(
        r#"{{"path":{},"type":{},"from":{},"values":{},"took_us":{}}}"#,
        string(&converted.global.path),
        string(&converted.global.signature),
        string(&converted.from),
        converted.values,
        micros(converted.took)
    )
}

/// The state cells of one type the update converted: every live one.
fn converted_cells(converted: &ConvertedCells) -> String {
    format!(
        r#"{{"type":{},"from":{},"cells":{},"values":{},"took_us":{}}}"#,
        string(&converted.type_name),
        string(&converted.from),
        converted.cells,
        converted.values,
        micros(converted.took)
    )
}

fn list(values: impl Iterator<Item = String>) -> String {
    format!("[{}]", values.collect::<Vec<_>>().join(","))
}

fn micros(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1e6)
}

/// A JSON string.
fn string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            c if c < ' ' => quoted.push_str(&format!("\\u{:04x}", c as u32)),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}
