//! What a patch needs from the process when it is loaded: the libraries its dynamic section
//! names (`DT_NEEDED`) and the symbols it imports. Both are read from the file and checked
//! against the running process before the dynamic loader sees the patch.
//!
//! A patch that shares the program's dependencies (a Rust `dylib`, see `docs/design.md`) takes
//! their code and statics from the image the program loaded; a patch built against another
//! build of one of them imports symbols the process does not have. The dynamic loader binds
//! functions lazily, so such a patch would load and then end the process at its first call of
//! a missing function: the check refuses it first, naming the crates. A library the program has
//! not loaded would be loaded beside it, its initialisers run, and, for a Rust library, a second
//! copy of what the program shares come into being: that is refused too.

use std::collections::BTreeSet;
use std::ffi::{c_int, c_void, CString};
use std::path::Path;

use object::elf;
use object::read::elf::{Dyn, FileHeader, ProgramHeader, SectionHeader, Sym};
use object::Endianness;

use crate::error::UpdateError;
use crate::lock::{self, Record};
use crate::symbols;

/// How many of the missing symbols an error names.
const NAMED_SYMBOLS: usize = 3;

/// What a shared object asks of the process it is loaded into.
#[derive(Debug, Default)]
pub(crate) struct Needs {
    /// The libraries of its `DT_NEEDED` entries, as written.
    pub(crate) libraries: Vec<String>,
    /// The names of the symbols it imports that must be defined: undefined, not weak.
    pub(crate) symbols: Vec<String>,
}

/// The libraries a patch needs, held loaded (each a reference the loader counts) from the
/// check until the patch is loaded, so that none is unloaded in between and the loader finds
/// each by name as the check did.
pub(crate) struct Needed {
    _loaded: Vec<Loaded>,
}

/// Refuses a patch that needs a library the program has not loaded, code of a shared
/// dependency of another release or from a path (`lock.rs`: `patch` is the patch's build
/// record, `running` the program's), or a symbol that neither the program nor those libraries
/// define. Returns the libraries it needs, held loaded.
pub(crate) fn check(
    path: &Path,
    bytes: &[u8],
    patch: Option<&Record>,
    running: Option<&Record>,
) -> Result<Needed, UpdateError> {
    let needs = Needs::of_patch(path, bytes)?;
    // The loader takes a needed library that answers to the name from those loaded, and
    // searches the directories the patch's `DT_RPATH` or `DT_RUNPATH` name for any other, which
    // may hold any file. A loaded object answers to its soname: each name must be one, so the
    // loader never searches, and what those entries say cannot bring in unverified code.
    let sonames = loaded_sonames();
    let mut libraries = Vec::with_capacity(needs.libraries.len());
    for library in &needs.libraries {
        let loaded = sonames.contains(library.as_bytes()).then(|| Loaded::open(library));
        match loaded.flatten() {
            Some(loaded) => libraries.push(loaded),
            None => {
                return Err(UpdateError::UnloadedLibrary {
                    path: path.to_owned(),
                    library: library.clone(),
                })
            }
        }
    }
    // The crates whose code the patch takes from the process, the standard library's aside.
    let imported: BTreeSet<String> = needs
        .symbols
        .iter()
        .flat_map(|symbol| symbols::crates_in(symbol))
        .filter(|krate| !symbols::is_std(krate))
        .collect();
    // dsu's runtime in a shared library would keep that library's lists of items, not the
    // program's or the patch's (`docs/design.md`).
    if symbols::DSU_CRATES.iter().any(|krate| imported.contains(*krate)) {
        return Err(UpdateError::Unverifiable {
            path: path.to_owned(),
            reason: "it takes dsu's runtime from a shared library of the program, where it would \
                     not see the items of either image; take dsu out of the shared crate \
                     (docs/sharing.md), then rebuild and restart the program and build it again"
                .to_owned(),
        });
    }
    if !imported.is_empty() {
        let unverifiable = |whose: &str, remedy: &str| UpdateError::Unverifiable {
            path: path.to_owned(),
            reason: format!(
                "{whose} no record of the Cargo.lock it was built with, so the releases of the \
                 shared dependencies it uses ({}) cannot be compared; {remedy}",
                imported.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
        };
        let patch = patch.ok_or_else(|| {
            unverifiable("it carries", "build it with cargo, in the program's workspace")
        })?;
        let running = running.ok_or_else(|| {
            unverifiable("the running program carries", "restart the program built with cargo")
        })?;
        lock::check(path, patch, running, &imported)?;
    }
    let missing: Vec<&str> = needs
        .symbols
        .iter()
        .map(String::as_str)
        .filter(|symbol| !defined(symbol, &libraries))
        .collect();
    if missing.is_empty() {
        return Ok(Needed { _loaded: libraries });
    }
    // Name the crates the patch was built against another build of. The standard library's
    // crates appear in the paths of other crates' generic code (`Cell<T>::replace`, made for a
    // dependency's type, in the dependency's library): they are named only when no other is.
    let named: Vec<String> = missing.iter().flat_map(|symbol| symbols::crates_in(symbol)).collect();
    let mut crates: Vec<String> = named.iter().filter(|c| !symbols::is_std(c)).cloned().collect();
    if crates.is_empty() {
        crates = named;
    }
    crates.sort();
    crates.dedup();
    Err(UpdateError::UnresolvedSymbols {
        path: path.to_owned(),
        crates,
        count: missing.len(),
        symbols: missing.iter().take(NAMED_SYMBOLS).map(|s| symbols::readable(s)).collect(),
    })
}

impl Needs {
    /// What the patch file at `path` needs, or why its dynamic section is refused.
    pub(crate) fn of_patch(path: &Path, bytes: &[u8]) -> Result<Needs, UpdateError> {
        Needs::of(bytes).map_err(|reason| UpdateError::Unverifiable {
            path: path.to_owned(),
            reason: format!("its dynamic section is refused ({reason}); rebuild it with cargo"),
        })
    }

    /// Reads the dynamic section and dynamic symbol table of an ELF shared object.
    pub(crate) fn of(bytes: &[u8]) -> Result<Needs, String> {
        match object::FileKind::parse(bytes).map_err(|e| e.to_string())? {
            object::FileKind::Elf64 => Needs::of_elf::<elf::FileHeader64<Endianness>>(bytes),
            object::FileKind::Elf32 => Needs::of_elf::<elf::FileHeader32<Endianness>>(bytes),
            other => Err(format!("it is a {other:?} file, not ELF")),
        }
    }

    fn of_elf<Elf: FileHeader<Endian = Endianness>>(bytes: &[u8]) -> Result<Needs, String> {
        let text = |e: object::read::Error| e.to_string();
        let header = Elf::parse(bytes).map_err(text)?;
        let endian = header.endian().map_err(text)?;
        let sections = header.sections(endian, bytes).map_err(text)?;
        // The dynamic loader reads the segment, at its address; this check reads the section,
        // at its offset: they must be the same bytes, one of each, and a loadable segment must
        // map that address to that offset. The string and symbol tables are read from the
        // sections a linker writes for them; a file crafted so that the loader finds other
        // tables is kept out by the signature (docs/limits.md), not by this check.
        let program_headers = header.program_headers(endian, bytes).map_err(text)?;
        let segments: Vec<[u64; 4]> = program_headers
            .iter()
            .filter(|segment| segment.p_type(endian) == elf::PT_DYNAMIC)
            .map(|segment| {
                [
                    segment.p_offset(endian),
                    segment.p_filesz(endian),
                    segment.p_vaddr(endian),
                    segment.p_memsz(endian),
                ]
                .map(Into::into)
            })
            .collect();
        let dynamic_sections: Vec<[u64; 4]> = sections
            .iter()
            .filter(|section| section.sh_type(endian) == elf::SHT_DYNAMIC)
            .map(|section| {
                let size = section.sh_size(endian).into();
                [section.sh_offset(endian).into(), size, section.sh_addr(endian).into(), size]
            })
            .collect();
        let mapped = |&[offset, size, address, _]: &[u64; 4]| {
            program_headers.iter().filter(|load| load.p_type(endian) == elf::PT_LOAD).any(|load| {
                let (start, length): (u64, u64) =
                    (load.p_vaddr(endian).into(), load.p_filesz(endian).into());
                // Checked: the numbers are the file's, whatever they are.
                let end = address.checked_add(size).zip(start.checked_add(length));
                let within = address >= start && end.is_some_and(|(end, load_end)| end <= load_end);
                within && load.p_offset(endian).into().checked_add(address - start) == Some(offset)
            })
        };
        if segments.len() > 1 || segments != dynamic_sections || !segments.iter().all(mapped) {
            return Err("its dynamic segment is not its dynamic section".to_owned());
        }
        let mut needs = Needs::default();
        if let Some((entries, strings)) = sections.dynamic(endian, bytes).map_err(text)? {
            let strings = sections.strings(endian, bytes, strings).map_err(text)?;
            for entry in entries {
                match entry.tag32(endian) {
                    Some(elf::DT_NEEDED) => {
                        let name = entry.string(endian, strings).map_err(text)?;
                        let name = String::from_utf8(name.to_vec())
                            .map_err(|_| "it names a library whose name is not UTF-8".to_owned())?;
                        // The loader opens a name with a `/` as a path, whatever is loaded, and
                        // expands `$ORIGIN`, `$LIB` and `$PLATFORM` into one.
                        if name.contains('/') || name.contains('$') {
                            return Err(format!("it names a library by its path, `{name}`"));
                        }
                        needs.libraries.push(name);
                    }
                    // A name the loader would match to the patch for libraries loaded later.
                    Some(elf::DT_SONAME) => {
                        return Err("it declares a soname, as a library others link to".to_owned());
                    }
                    // Libraries the loader would load beside the ones named as needed.
                    Some(elf::DT_AUXILIARY | elf::DT_FILTER | elf::DT_AUDIT | elf::DT_DEPAUDIT) => {
                        return Err("it names filter, auxiliary or audit libraries".to_owned());
                    }
                    _ => {}
                }
            }
        }
        let symbols = sections.symbols(endian, bytes, elf::SHT_DYNSYM).map_err(text)?;
        for symbol in symbols.iter().skip(1) {
            if symbol.st_shndx(endian) != elf::SHN_UNDEF || symbol.st_bind() == elf::STB_WEAK {
                continue;
            }
            let name = symbol.name(endian, symbols.strings()).map_err(text)?;
            if !name.is_empty() {
                needs.symbols.push(String::from_utf8_lossy(name).into_owned());
            }
        }
        Ok(needs)
    }
}

/// A library the process has already loaded, held open while the check runs.
struct Loaded(*mut c_void);

impl Loaded {
    /// The library loaded under `name`, or `None` if the process has not loaded it. Never
    /// loads anything: `RTLD_NOLOAD` only looks among the loaded objects.
    fn open(name: &str) -> Option<Loaded> {
        let name = CString::new(name).ok()?;
        // SAFETY: `name` is a NUL-terminated string that outlives the call; with
        // `RTLD_NOLOAD` `dlopen` maps nothing and runs no initialiser, it only returns a new
        // reference to an object already loaded (or null), which `Drop` gives back.
        let handle = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOLOAD | libc::RTLD_LAZY) };
        if handle.is_null() {
            None
        } else {
            Some(Loaded(handle))
        }
    }

    fn defines(&self, symbol: &CString) -> bool {
        // SAFETY: the handle came from a successful `dlopen` and is still open; `symbol` is
        // NUL-terminated. `dlsym` looks the name up in the object and its dependencies, all
        // loaded and initialised; it runs the resolver of an IFUNC symbol and may allocate
        // this thread's block of a TLS symbol, both code and data of those objects.
        !unsafe { libc::dlsym(self.0, symbol.as_ptr()) }.is_null()
    }
}

impl Drop for Loaded {
    fn drop(&mut self) {
        // SAFETY: gives back the reference `open` took with `RTLD_NOLOAD`, which a loaded object
        // only has if another reference keeps it loaded: the count stays above zero, and
        // nothing is unmapped or finalised.
        unsafe { libc::dlclose(self.0) };
    }
}

/// The sonames (`DT_SONAME`) of the objects the process has loaded, each read from the
/// object's dynamic array in memory, where the loader reads it when it matches a needed name.
fn loaded_sonames() -> BTreeSet<Vec<u8>> {
    unsafe extern "C" fn visit(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut c_void,
    ) -> c_int {
        // SAFETY: `data` is the set passed below, borrowed by nothing else while the loader
        // calls back; `info` is valid for the duration of the call.
        let (names, info) = unsafe { (&mut *data.cast::<BTreeSet<Vec<u8>>>(), &*info) };
        if !info.dlpi_phdr.is_null() {
            // SAFETY: `dlpi_phdr` points to the object's `dlpi_phnum` program headers.
            let headers =
                unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum.into()) };
            let segments: Vec<Segment> = headers
                .iter()
                .map(|header| Segment {
                    kind: header.p_type,
                    readable: header.p_flags & libc::PF_R != 0,
                    start: (info.dlpi_addr as usize).wrapping_add(header.p_vaddr as usize),
                    size: header.p_memsz as usize,
                })
                .collect();
            // SAFETY: the segments are those of an object loaded while the loader holds its
            // list locked: their readable loadable ones are mapped.
            if let Some(name) = unsafe { soname(info.dlpi_addr as usize, &segments) } {
                names.insert(name);
            }
        }
        0 // on to the next object
    }
    let mut names = BTreeSet::new();
    // SAFETY: `visit` reads the objects' headers and mapped segments and writes `names`; a
    // panic in it (out of memory) aborts at its `extern "C"` boundary.
    unsafe { libc::dl_iterate_phdr(Some(visit), (&mut names as *mut BTreeSet<Vec<u8>>).cast()) };
    names
}

/// A program header of a loaded object, at its address in memory.
struct Segment {
    kind: u32,
    readable: bool,
    start: usize,
    size: usize,
}

/// An entry of a dynamic array, as `<link.h>` declares `ElfW(Dyn)`: a signed tag and a value
/// or address, each a word of the target.
#[repr(C)]
struct DynamicEntry {
    tag: isize,
    value: usize,
}

const _: () = assert!(std::mem::size_of::<DynamicEntry>() == 2 * std::mem::size_of::<usize>());

/// The soname of the object loaded at `base` with `segments`, read from its dynamic array.
/// Every read is checked to lie within a readable loadable segment; an object with no dynamic
/// segment, no soname or tables that do not fit answers to no soname.
///
/// # Safety
/// The readable `PT_LOAD` segments must be mapped, readable memory for the call.
unsafe fn soname(base: usize, segments: &[Segment]) -> Option<Vec<u8>> {
    let mapped = |start: usize, size: usize| {
        let end = start.checked_add(size)?;
        segments
            .iter()
            .any(|segment| {
                segment.kind == libc::PT_LOAD
                    && segment.readable
                    && start >= segment.start
                    && segment.start.checked_add(segment.size).is_some_and(|limit| end <= limit)
            })
            .then_some(start)
    };
    // The loader takes the last, should there be several.
    let dynamic = segments.iter().rfind(|segment| segment.kind == libc::PT_DYNAMIC)?;
    let count = dynamic.size / std::mem::size_of::<DynamicEntry>();
    let start = mapped(dynamic.start, count * std::mem::size_of::<DynamicEntry>())?;
    if start % std::mem::align_of::<DynamicEntry>() != 0 {
        return None;
    }
    // SAFETY: the entries lie within a readable mapped segment (checked above) and are
    // aligned; the loader wrote them before it listed the object, and nothing writes them
    // after.
    let entries = unsafe { std::slice::from_raw_parts(start as *const DynamicEntry, count) };
    let (mut name, mut strings, mut size) = (None, None, None);
    for entry in entries.iter().take_while(|entry| entry.tag != elf::DT_NULL as isize) {
        match entry.tag {
            tag if tag == elf::DT_SONAME as isize => name = Some(entry.value),
            tag if tag == elf::DT_STRTAB as isize => strings = Some(entry.value),
            tag if tag == elf::DT_STRSZ as isize => size = Some(entry.value),
            _ => {}
        }
    }
    let (name, strings, size) = (name?, strings?, size?);
    // The loader relocates the table's address in place where the array is writable, and
    // leaves it relative to the base where it is not (the vDSO): take whichever is mapped.
    let strings = mapped(strings, size).or_else(|| mapped(base.checked_add(strings)?, size))?;
    let length = size.checked_sub(name)?;
    // SAFETY: `strings .. strings + size` lies within a readable mapped segment (checked
    // above), and `name + length` is `size`.
    let tail = unsafe { std::slice::from_raw_parts((strings + name) as *const u8, length) };
    let end = tail.iter().position(|&byte| byte == 0)?;
    Some(tail[..end].to_vec())
}

/// Whether the dynamic loader would find `symbol` for the patch: in the process's global
/// scope (the program and the libraries it started with) or in a library the patch names.
fn defined(symbol: &str, libraries: &[Loaded]) -> bool {
    let Ok(name) = CString::new(symbol) else { return false };
    // SAFETY: `RTLD_DEFAULT` names the global scope; `name` is NUL-terminated. `dlsym` looks
    // the name up in objects loaded and initialised, as in `Loaded::defines`.
    let global = !unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) }.is_null();
    global || libraries.iter().any(|library| library.defines(&name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_test_binary_needs_what_it_has() {
        let bytes = std::fs::read("/proc/self/exe").unwrap();
        let needs = Needs::of(&bytes).unwrap();
        assert!(needs.libraries.iter().any(|l| l.starts_with("libc.so")), "{needs:?}");
        assert!(needs.symbols.iter().any(|s| s == "malloc"), "{needs:?}");
        check(Path::new("/proc/self/exe"), &bytes, None, None).unwrap();
    }

    #[test]
    fn a_library_the_process_has_not_loaded_is_not_opened() {
        assert!(Loaded::open("libdsu-never-loaded.so.7").is_none());
        assert!(Loaded::open("libc.so.6").is_some());
        assert!(!defined("dsu_no_process_defines_this_symbol", &[]));
        assert!(defined("malloc", &[]));
    }

    #[test]
    fn the_loaded_libraries_answer_to_their_sonames() {
        let names = loaded_sonames();
        for name in ["libc.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2"] {
            assert!(names.contains(name.as_bytes()), "{name} in {names:?}");
        }
        // A name the loader finds only by searching the directories is not one of them.
        assert!(!names.contains(b"libc.so".as_slice()), "{names:?}");
    }

    #[test]
    fn what_is_not_elf_is_not_read() {
        assert!(Needs::of(b"not a library").is_err());
    }
}
