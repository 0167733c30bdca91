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
//!   depends on (its workspace siblings), as the running program's build record names them. Their updateable
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
use crate::loader::MEMFD_NAME;
use crate::lock::Record;
use crate::symbols;

/// The crates dsu's runtime links in every image (those with statics among them), beside
/// dsu's own (`symbols::DSU_CRATES`).
const DSU_LINKS: &[&str] = &[
    "abi_stable",
    "core_extensions",
    "parking_lot",
    "parking_lot_core",
    "lock_api",
    "linkme",
    "libloading",
    "object",
    "memchr",
    "minisign_verify",
    "libc",
];

/// Refuses a patch that carries a copy of its own of a crate, with statics, that the running
/// program also has. `own` is the crate the program is built from, as symbols name it, and
/// `record` the running program's build record, which names the program's other crates (not
/// the patch's: what a patch says of itself cannot make its copies the program's own code).
pub(crate) fn check(
    path: &Path,
    file: &object::read::File<'_>,
    own: &str,
    record: Option<&Record>,
) -> Result<(), UpdateError> {
    let Some(patch) = crates_with_statics(file) else {
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
        .filter(|krate| {
            !symbols::DSU_CRATES.contains(&krate.as_str()) && !DSU_LINKS.contains(&krate.as_str())
        })
        .collect();
    if candidates.is_empty() {
        return Ok(());
    }
    // The program's own code is a copy only where the program shares it: in a library.
    let own_code = |krate: &String| record.is_some_and(|record| record.is_only_path_crate(krate));
    // A stripped program cannot say what it has: any copy may be of one of its crates.
    let copied: Vec<String> = match program_has(&candidates) {
        Some((in_executable, in_libraries)) => candidates
            .into_iter()
            .filter(|krate| {
                in_libraries.contains(krate) || (!own_code(krate) && in_executable.contains(krate))
            })
            .collect(),
        None => candidates.into_iter().filter(|krate| !own_code(krate)).collect(),
    };
    if copied.is_empty() {
        Ok(())
    } else {
        Err(UpdateError::CopiedDependencies { path: path.to_owned(), crates: copied })
    }
}

/// The crates of which the image defines statics or thread-locals (the macros' own left out);
/// `None` when its symbol table is stripped.
fn crates_with_statics(file: &object::read::File<'_>) -> Option<BTreeSet<String>> {
    file.symbol_table()?;
    let statics = file.symbols().filter(|symbol| {
        matches!(symbol.kind(), SymbolKind::Data | SymbolKind::Tls) && defined(symbol)
    });
    Some(statics.filter_map(|symbol| symbol.name().ok().and_then(crate_of_static)).collect())
}

/// Those of `crates` that the running program has code or statics of, in its executable and in
/// the libraries it loaded (a shared dylib, whose crates the executable may not name); `None`
/// when the executable is stripped. Only the symbols that can be a crate's are demangled: an
/// executable has tens of thousands. Read only when a patch has statics of crates outside its
/// own crate, std's and dsu's.
fn program_has(crates: &[String]) -> Option<(BTreeSet<String>, BTreeSet<String>)> {
    // How a mangled name spells the crate's name: length first, in both manglings.
    let tags: Vec<String> = crates.iter().map(|krate| format!("{}{krate}", krate.len())).collect();
    let scan = |names: &mut dyn Iterator<Item = &str>, found: &mut BTreeSet<String>| {
        for name in names {
            for (krate, tag) in crates.iter().zip(&tags) {
                if !found.contains(krate) && names_crate(name, tag, krate) {
                    found.insert(krate.clone());
                }
            }
        }
    };
    let bytes = std::fs::read("/proc/self/exe").ok()?;
    let file = object::read::File::parse(&*bytes).ok()?;
    file.symbol_table()?;
    let mut in_executable = BTreeSet::new();
    scan(&mut file.symbols().filter(defined).filter_map(|s| s.name().ok()), &mut in_executable);
    // A library that cannot be read (a replaced one, whose `map_files` entry only a privileged
    // process may open) could hold any of them: the program cannot say what it has.
    let mut in_libraries = BTreeSet::new();
    for library in loaded_libraries()? {
        let bytes = std::fs::read(&library).ok()?;
        let file = object::read::File::parse(&*bytes).ok()?;
        let mut names =
            file.dynamic_symbols().filter(defined).filter_map(|symbol| symbol.name().ok());
        scan(&mut names, &mut in_libraries);
    }
    Some((in_executable, in_libraries))
}

/// Whether a symbol is defined in the image: in one of its sections, or common. (object's
/// `is_definition` leaves thread-locals out.)
fn defined<'data>(symbol: &impl ObjectSymbol<'data>) -> bool {
    symbol.section_index().is_some() || symbol.is_common()
}

/// The files of the shared libraries mapped into the process, from `/proc/self/maps`, each
/// as a path to read it by: a file replaced since it was loaded (` (deleted)`) is read through
/// `/proc/self/map_files`, so that it is the file loaded. Earlier patches, mapped from their
/// memfds, are left out: a patch exports no Rust symbols, so what one brought is its own.
/// `None` if the maps cannot be read.
fn loaded_libraries() -> Option<BTreeSet<PathBuf>> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let mut libraries = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for line in maps.lines() {
        if let Some((path, file)) = library_of(line) {
            if seen.insert(path) {
                libraries.insert(file);
            }
        }
    }
    Some(libraries)
}

/// The library a line of `/proc/self/maps` maps, as its path and the file to read it by.
fn library_of(line: &str) -> Option<(String, PathBuf)> {
    // The path is the rest of the line from its first `/`: nothing before it has one.
    let path = &line[line.find('/')?..];
    let range = line.split(' ').next()?;
    let patch = path.strip_prefix("/memfd:").is_some_and(|name| name.starts_with(MEMFD_NAME));
    if !path.contains(".so") || patch {
        return None;
    }
    let file = match path.strip_suffix(" (deleted)") {
        Some(_) => PathBuf::from(format!("/proc/self/map_files/{range}")),
        None => PathBuf::from(path),
    };
    Some((path.to_owned(), file))
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
    fn mapped_libraries_are_read_whole_and_deleted_ones_as_mapped() {
        let spaced = "7f00-7f10 r-xp 00000000 fe:01 1234   /srv/my server/libshared.so";
        assert_eq!(library_of(spaced).unwrap().1, PathBuf::from("/srv/my server/libshared.so"));
        let deleted = "7f00-7f10 r--p 00000000 fe:01 1234   /srv/libshared.so (deleted)";
        assert_eq!(library_of(deleted).unwrap().1, PathBuf::from("/proc/self/map_files/7f00-7f10"));
        assert!(library_of("7f00-7f10 rw-p 00000000 00:00 0   [heap]").is_none());
        let patch = "7f00-7f10 r--p 00000000 00:01 5   /memfd:dsu:v2.so (deleted)";
        assert!(library_of(patch).is_none(), "an earlier patch, from its memfd");
        assert!(library_of("5500-5510 r-xp 00000000 fe:01 99   /usr/bin/server").is_none());
    }

    #[test]
    fn the_program_has_its_own_crates() {
        let crates = ["dsu_rt", "std", "parking_lot_core", "tokio"].map(str::to_owned);
        let (in_executable, in_libraries) =
            program_has(&crates).expect("test binaries keep their symbols");
        let in_executable: Vec<&str> = in_executable.iter().map(String::as_str).collect();
        assert_eq!(in_executable, ["dsu_rt", "parking_lot_core", "std"]);
        assert!(in_libraries.is_empty(), "{in_libraries:?}");
    }

    #[test]
    fn the_test_binary_has_statics_of_its_crates() {
        let bytes = std::fs::read("/proc/self/exe").unwrap();
        let file = object::read::File::parse(&*bytes).unwrap();
        let statics = crates_with_statics(&file).unwrap();
        assert!(statics.contains("dsu_rt"), "{statics:?}");
        // A copy of the program's own image carries only what is per image by design.
        check(Path::new("/proc/self/exe"), &file, "dsu_rt", None).unwrap();
    }
}
