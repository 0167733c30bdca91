//! Rust symbols as a reader knows them: demangled, and by the crate they belong to.

/// A Rust symbol's demangled path, without its hash; `None` for other symbols.
pub(crate) fn path_of(symbol: &str) -> Option<String> {
    Some(format!("{:#}", rustc_demangle::try_demangle(symbol).ok()?))
}

/// The crate a Rust symbol belongs to: the first segment of its demangled path (for
/// `<tokio::time::Sleep as core::future::Future>::poll`, `tokio`). `None` for other symbols.
pub(crate) fn crate_of(symbol: &str) -> Option<String> {
    crate_of_path(&path_of(symbol)?)
}

/// The first segment of a demangled path, if it can be a crate's name.
pub(crate) fn crate_of_path(path: &str) -> Option<String> {
    let name = path.trim_start_matches('<').split("::").next()?;
    let is_crate = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    is_crate.then(|| name.to_owned())
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
        assert_eq!(crate_of("memcpy"), None);
        assert_eq!(crate_of("anon.0123.4"), None);
        assert_eq!(readable("memcpy"), "memcpy");
    }
}
