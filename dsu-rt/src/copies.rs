//! A patch's own copies of the program's dependencies, found in its symbol table.
//!
//! A statically linked dependency brings its statics and thread-locals into every image that
//! links it. Patch code calling the patch's copy of `tokio` finds no runtime, its `tracing`
//! no subscriber, its `log` no logger, and its lazy statics and thread RNGs are others than the
//! program's: nothing fails, it just acts on the wrong state. So a patch whose image defines a
//! static of a crate the running program also has is refused, naming the crates, unless the
//! copy is one that is per image by design:
//!
//! - the crate the patch is a build of: its updateable items and globals are per image, and
//!   the update switches them (what the macros write is not counted either);
//! - dsu's own runtime and what it links: the patch's runtime acts through the program's;
//! - the standard library, which is one only when both are built with `-C prefer-dynamic`; two
//!   copies share one heap (`alloc.rs`) and carry panics across (`unwind.rs`).
//!
//! A dependency shared as `docs/sharing.md` says is not in the patch's image at all, and a
//! dependency only the patch has is its own.

use std::collections::BTreeSet;
use std::path::Path;

use object::{Object, ObjectSymbol, SymbolKind};

use crate::error::UpdateError;
use crate::symbols;

/// dsu's runtime and the crates it links in every image (those with statics among them).
const DSU: &[&str] = &[
    "dsu",
    "dsu_rt",
    "dsu_abi",
    "abi_stable",
    "core_extensions",
    "parking_lot",
    "parking_lot_core",
    "lock_api",
    "linkme",
    "libloading",
    "object",
    "memchr",
    "libc",
];

/// Refuses a patch that carries a copy of its own of a crate, with statics, that the running
/// program also has. `own` is the crate the program is built from, as symbols name it.
pub(crate) fn check(path: &Path, bytes: &[u8], own: &str) -> Result<(), UpdateError> {
    let unverifiable = |reason: &str| UpdateError::LoadFailed {
        path: path.to_owned(),
        reason: format!(
            "{reason}, so dsu cannot tell whether it carries copies of the program's \
             dependencies; build it without stripping symbols"
        ),
    };
    let Some(patch) = crates_with_statics(bytes) else {
        return Err(unverifiable("its symbol table is stripped"));
    };
    let candidates: Vec<String> = patch
        .into_iter()
        .filter(|krate| krate != own && !symbols::is_std(krate))
        .filter(|krate| !DSU.contains(&krate.as_str()))
        .collect();
    if candidates.is_empty() {
        return Ok(());
    }
    // A stripped program cannot say what it has: any copy may be of one of its crates.
    let copied = program_has(&candidates).unwrap_or(candidates);
    if copied.is_empty() {
        Ok(())
    } else {
        Err(UpdateError::CopiedDependencies { path: path.to_owned(), crates: copied })
    }
}

/// The crates of which the image defines statics or thread-locals (the macros' own left out);
/// `None` when its symbol table is stripped.
fn crates_with_statics(bytes: &[u8]) -> Option<BTreeSet<String>> {
    let file = object::read::File::parse(bytes).ok()?;
    file.symbol_table()?;
    let statics = file.symbols().filter(|symbol| {
        symbol.is_definition() && matches!(symbol.kind(), SymbolKind::Data | SymbolKind::Tls)
    });
    Some(statics.filter_map(|symbol| symbol.name().ok().and_then(crate_of_static)).collect())
}

/// Those of `crates` that the running program's executable has code or statics of; `None`
/// when it is stripped. Only the symbols that can be a crate's are demangled: an executable has
/// tens of thousands.
fn program_has(crates: &[String]) -> Option<Vec<String>> {
    let bytes = std::fs::read("/proc/self/exe").ok()?;
    let file = object::read::File::parse(&*bytes).ok()?;
    file.symbol_table()?;
    // How a mangled name spells the crate's name: length first, in both manglings.
    let tags: Vec<String> = crates.iter().map(|krate| format!("{}{krate}", krate.len())).collect();
    let mut found = vec![false; crates.len()];
    for symbol in file.symbols().filter(ObjectSymbol::is_definition) {
        let Ok(name) = symbol.name() else { continue };
        for (index, tag) in tags.iter().enumerate() {
            if !found[index] && names_crate(name, tag, &crates[index]) {
                found[index] = true;
            }
        }
        if found.iter().all(|&found| found) {
            break;
        }
    }
    Some(crates.iter().zip(found).filter(|(_, found)| *found).map(|(k, _)| k.clone()).collect())
}

/// Whether the mangled `name` is a symbol of `krate`, spelled `tag`: a legacy name starts with
/// it, and a v0 name that contains it is demangled to be sure.
fn names_crate(name: &str, tag: &str, krate: &str) -> bool {
    if let Some(path) = name.strip_prefix("_ZN") {
        path.starts_with(tag)
    } else {
        name.starts_with("_R")
            && name.contains(tag)
            && symbols::crate_of(name).is_some_and(|found| found == krate)
    }
}

/// The crate of a Rust static's symbol, unless the static is one the macros write.
fn crate_of_static(symbol: &str) -> Option<String> {
    // The macros name their statics `__DSU_..`, and both manglings spell identifiers out.
    if symbol.contains("__DSU_") {
        None
    } else {
        symbols::crate_of(symbol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statics_are_named_by_their_crate_and_the_macros_are_left_out() {
        // `tokio::runtime::task::id::Id::next::NEXT_ID`.
        let tokio = "_ZN5tokio7runtime4task2id2Id4next7NEXT_ID17h0123456789abcdefE";
        assert_eq!(crate_of_static(tokio).as_deref(), Some("tokio"));
        // `app::work::__DSU_SLOT`.
        let slot = "_ZN3app4work10__DSU_SLOT17h0123456789abcdefE";
        assert_eq!(symbols::crate_of(slot).as_deref(), Some("app"));
        assert_eq!(crate_of_static(slot), None);
        assert_eq!(crate_of_static("GCC_except_table1"), None);
    }

    #[test]
    fn the_program_has_its_own_crates() {
        let crates = ["dsu_rt", "std", "parking_lot_core", "tokio"].map(str::to_owned);
        let found = program_has(&crates).expect("test binaries keep their symbols");
        assert_eq!(found, ["dsu_rt", "std", "parking_lot_core"]);
    }

    #[test]
    fn the_test_binary_has_statics_of_its_crates() {
        let bytes = std::fs::read("/proc/self/exe").unwrap();
        let statics = crates_with_statics(&bytes).unwrap();
        assert!(statics.contains("dsu_rt"), "{statics:?}");
        // A copy of the program's own image carries only what is per image by design.
        check(Path::new("/proc/self/exe"), &bytes, "dsu_rt").unwrap();
    }
}
