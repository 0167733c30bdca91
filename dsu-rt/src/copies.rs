//! A patch's own copies of the program's dependencies, found in its symbol table.
//!
//! A statically linked dependency brings its statics and thread-locals into every image that
//! links it. Patch code calling the patch's copy of `tokio` finds no runtime, its `tracing`
//! no subscriber, its `log` no logger, and its lazy statics and thread RNGs are others than the
//! program's: nothing fails, it just acts on the wrong state. So a patch whose image defines a
//! static or thread-local of a crate that the running program also has (in its executable or
//! in a library it loaded) is refused, naming the crates, unless the copy is one that is per
//! image by design:
//!
//! - the program's own code: the crate the patch is a build of and the path packages it
//!   depends on (its workspace siblings), as its build record names them. Their updateable
//!   items and globals are per image and the update switches them (what the macros write is
//!   not counted either); a plain static of theirs is the patch's own, fresh in the patch, as
//!   the examples' README says of the crate's;
//! - dsu's own runtime and what it links: the patch's runtime acts through the program's;
//! - the standard library, which is one only when both are built with `-C prefer-dynamic`; two
//!   copies share one heap (`alloc.rs`) and carry panics across (`unwind.rs`).
//!
//! A dependency shared as `docs/sharing.md` says is not in the patch's image at all, and a
//! dependency only the patch has is its own.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use object::{Object, ObjectSymbol, SymbolKind};

use crate::error::UpdateError;
use crate::lock::Record;
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
/// program also has. `own` is the crate the program is built from, as symbols name it, and
/// `record` the patch's build record, which names the program's other crates.
pub(crate) fn check(
    path: &Path,
    bytes: &[u8],
    own: &str,
    record: Option<&Record>,
) -> Result<(), UpdateError> {
    let Some(patch) = crates_with_statics(bytes) else {
        return Err(UpdateError::Unverifiable {
            path: path.to_owned(),
            reason: "its symbol table is stripped, so whether it carries copies of the \
                     program's dependencies cannot be told; build it without stripping symbols"
                .to_owned(),
        });
    };
    let candidates: Vec<String> = patch
        .into_iter()
        .filter(|krate| krate != own && !symbols::is_std(krate))
        .filter(|krate| !DSU.contains(&krate.as_str()))
        .filter(|krate| !record.is_some_and(|record| record.is_path_crate(krate)))
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
    // Defined in a section of the image (object's `is_definition` leaves thread-locals out), or
    // common.
    let statics = file.symbols().filter(|symbol| {
        matches!(symbol.kind(), SymbolKind::Data | SymbolKind::Tls)
            && (symbol.section_index().is_some() || symbol.is_common())
    });
    Some(statics.filter_map(|symbol| symbol.name().ok().and_then(crate_of_static)).collect())
}

/// Those of `crates` that the running program has code or statics of, in its executable or in
/// a library it loaded (a shared dylib, whose crates the executable may not name); `None` when
/// the executable is stripped. Only the symbols that can be a crate's are demangled: an
/// executable has tens of thousands. Read only when a patch has statics of crates outside its
/// own, std's and dsu's.
fn program_has(crates: &[String]) -> Option<Vec<String>> {
    // How a mangled name spells the crate's name: length first, in both manglings.
    let tags: Vec<String> = crates.iter().map(|krate| format!("{}{krate}", krate.len())).collect();
    let mut found = vec![false; crates.len()];
    let mut scan = |names: &mut dyn Iterator<Item = &str>| {
        for name in names {
            for (index, tag) in tags.iter().enumerate() {
                if !found[index] && names_crate(name, tag, &crates[index]) {
                    found[index] = true;
                }
            }
        }
    };
    let bytes = std::fs::read("/proc/self/exe").ok()?;
    let file = object::read::File::parse(&*bytes).ok()?;
    file.symbol_table()?;
    scan(&mut file.symbols().filter(ObjectSymbol::is_definition).filter_map(|s| s.name().ok()));
    for library in loaded_libraries() {
        let Ok(bytes) = std::fs::read(&library) else { continue };
        let Ok(file) = object::read::File::parse(&*bytes) else { continue };
        let defined = file.dynamic_symbols().filter(ObjectSymbol::is_definition);
        scan(&mut defined.filter_map(|symbol| symbol.name().ok()));
    }
    Some(crates.iter().zip(found).filter(|(_, found)| *found).map(|(k, _)| k.clone()).collect())
}

/// The files of the shared libraries mapped into the process, from `/proc/self/maps`. The
/// copies of earlier patches are among them: a crate with statics that one brought counts as
/// the program's, since a second copy in a later patch would not be the state the earlier one's
/// code uses.
fn loaded_libraries() -> BTreeSet<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    maps.lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .map(PathBuf::from)
        .filter(|path| path.file_name().is_some_and(|n| n.to_string_lossy().contains(".so")))
        .collect()
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
        check(Path::new("/proc/self/exe"), &bytes, "dsu_rt", None).unwrap();
    }
}
