//! Rust symbols as a reader knows them: demangled, and by the crate they belong to.

/// The standard library and the crates it is built from.
const STD: &[&str] = &[
    "std",
    "core",
    "alloc",
    "panic_unwind",
    "panic_abort",
    "std_detect",
    "hashbrown",
    "addr2line",
    "gimli",
    "miniz_oxide",
    "adler2",
    "rustc_demangle",
    "unwind",
    "compiler_builtins",
];

/// dsu's own crates, as symbols name them.
pub(crate) const DSU_CRATES: [&str; 3] = ["dsu", "dsu_rt", "dsu_abi"];

/// Whether `krate` is the standard library's or one it is built from.
pub(crate) fn is_std(krate: &str) -> bool {
    STD.contains(&krate)
}

/// A Rust symbol's demangled path, without its hash; `None` for other symbols.
pub(crate) fn path_of(symbol: &str) -> Option<String> {
    Some(format!("{:#}", rustc_demangle::try_demangle(symbol).ok()?))
}

/// The crate a Rust symbol belongs to: the first segment of its demangled path (for
/// `<tokio::time::Sleep as core::future::Future>::poll`, `tokio`). `None` for other symbols.
pub(crate) fn crate_of(symbol: &str) -> Option<String> {
    // A legacy name that starts with a plain identifier starts with its crate: `_ZN5tokio..`.
    // Read so, it costs nothing; the rest are demangled.
    if let Some(rest) = symbol.strip_prefix("_ZN") {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if let Ok(len) = rest[..digits].parse::<usize>() {
            let name = rest[digits..].get(..len).unwrap_or_default();
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Some(name.to_owned());
            }
        }
    }
    crate_of_path(&path_of(symbol)?)
}

/// The first segment of a demangled path, if it can be a crate's name.
fn crate_of_path(path: &str) -> Option<String> {
    let name = path.trim_start_matches('<').split("::").next()?;
    let is_crate = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    is_crate.then(|| name.to_owned())
}

/// The crates a Rust symbol names: the first segment of every path in it, in order, once each
/// (for `core::ptr::drop_in_place<fastrand::global_rng::RestoreOnDrop>`, `core` and
/// `fastrand`). Empty for other symbols.
pub(crate) fn crates_in(symbol: &str) -> Vec<String> {
    let Some(path) = path_of(symbol) else { return Vec::new() };
    let mut crates: Vec<String> = Vec::new();
    let mut rest = path.as_str();
    while !rest.is_empty() {
        let start = rest.find(|c: char| c.is_alphanumeric() || c == '_').unwrap_or(rest.len());
        // A path starts where an identifier does not follow `::`.
        let follows_segment = rest[..start].ends_with("::");
        rest = &rest[start..];
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
        let (name, after) = rest.split_at(end);
        if !follows_segment && after.starts_with("::") && !crates.iter().any(|c| c == name) {
            crates.push(name.to_owned());
        }
        rest = after;
    }
    crates
}

/// A symbol for an error message: demangled when it is Rust's, as it is otherwise.
pub(crate) fn readable(symbol: &str) -> String {
    path_of(symbol).unwrap_or_else(|| symbol.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_symbols_are_named_by_their_crate() {
        // `tokio::runtime::context::CONTEXT::__getit`, legacy mangling.
        let legacy = "_ZN5tokio7runtime7context7CONTEXT7__getit17h0123456789abcdefE";
        assert_eq!(crate_of(legacy).as_deref(), Some("tokio"));
        assert_eq!(readable(legacy), "tokio::runtime::context::CONTEXT::__getit");
        // `<tracing_core::Kind as core::fmt::Debug>::fmt`, legacy mangling of an impl.
        let trait_impl =
            "_ZN55_$LT$tracing_core..Kind$u20$as$u20$core..fmt..Debug$GT$3fmt17h0123456789abcdefE";
        assert_eq!(crate_of(trait_impl).as_deref(), Some("tracing_core"));
        let generic = "_ZN4core3ptr56drop_in_place$LT$fastrand..global_rng..RestoreOnDrop$GT$17h84a08590edac5a18E";
        assert_eq!(crates_in(generic), ["core", "fastrand"]);
        assert_eq!(crates_in(trait_impl), ["tracing_core", "core"]);
        assert!(crates_in("memcpy").is_empty());
        assert_eq!(crate_of("memcpy"), None);
        assert_eq!(crate_of("anon.0123.4"), None);
        assert_eq!(readable("memcpy"), "memcpy");
    }
}
