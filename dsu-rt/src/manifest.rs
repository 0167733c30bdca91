//! The manifest section: the facts that decide whether a patch may be loaded, in a section of
//! its ELF file (`.dsu.manifest`) that the updater reads from the file's bytes, before the
//! dynamic loader has run anything of it.
//!
//! `dsu::patch!()` writes it at compile time (`encode`): the crate's name and version, the
//! release the patch is built on and its sequence number, and the build the image was made
//! with (compiler, target, panic strategy, flags, `dsu` version, the runtime's layouts). The
//! running program carries the same section, which its `ProgramInfo` points at. A signature
//! over the file binds all of it.
//!
//! The encoding is text, a header and then one `key=value` record each, every one ended by a
//! NUL, so that `readelf -p .dsu.manifest` shows it. Keys are unique; values hold no NUL (they
//! come from environment variables and string literals without one).

use crate::cell::{GlobalCell, SlotCell};
use crate::error::{BuildDifference, UpdateError};
use crate::record::Record;
use crate::report::{Status, UpdateReport};
use crate::slices::ProgramInfo;

/// The section's name.
pub(crate) const SECTION: &str = ".dsu.manifest";

/// The first record of every manifest, with the version of the encoding.
const HEADER: &str = "dsu-manifest 1";

/// What `dsu::patch!()` declares of its crate.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Declared {
    /// `CARGO_PKG_NAME`.
    pub name: &'static str,
    /// `CARGO_PKG_VERSION`.
    pub version: &'static str,
    /// `CARGO_CRATE_NAME`: the library's name, as symbols spell it.
    pub crate_name: &'static str,
    /// `"unwind"` or `"abort"`: how the declaring crate itself was compiled, which a profile's
    /// `panic` or flags given to that crate alone decide (a build script cannot see either).
    pub panic: &'static str,
    /// The version of the release this one updates; empty if none was declared.
    pub base: &'static str,
    /// The release's sequence number; 0 if none was declared.
    pub sequence: u64,
}

/// A record's value.
#[derive(Clone, Copy)]
enum Value {
    Text(&'static str),
    Number(u64),
    /// `size/align` of a type.
    Layout(usize, usize),
}

/// The keys of the build records, each with the name an error gives its difference.
const BUILD: [(&str, &str); 11] = [
    ("rustc", "compiler"),
    ("target", "target"),
    ("panic", "panic strategy"),
    ("target-features", "target features"),
    ("rustflags", "rustflags"),
    ("dsu", "dsu version"),
    // What the host context's operations exchange, and the cells and records every image
    // reaches in another's memory.
    ("layout-outcome", "runtime layout"),
    ("layout-status", "runtime layout"),
    ("layout-slot-cell", "runtime layout"),
    ("layout-global-cell", "runtime layout"),
    ("layout-record", "runtime layout"),
];

const fn layout<T>() -> Value {
    Value::Layout(size_of::<T>(), align_of::<T>())
}

/// Every record of `declared`'s manifest, in order: the declared ones, then the build's (the
/// keys of `BUILD`, in its order).
const fn records(declared: &Declared) -> [(&'static str, Value); 16] {
    [
        ("crate", Value::Text(declared.name)),
        ("version", Value::Text(declared.version)),
        ("crate-name", Value::Text(declared.crate_name)),
        ("base", Value::Text(declared.base)),
        ("sequence", Value::Number(declared.sequence)),
        ("rustc", Value::Text(env!("DSU_BUILD_RUSTC"))),
        ("target", Value::Text(env!("DSU_BUILD_TARGET"))),
        ("panic", Value::Text(declared.panic)),
        ("target-features", Value::Text(env!("DSU_BUILD_TARGET_FEATURES"))),
        ("rustflags", Value::Text(env!("DSU_BUILD_RUSTFLAGS"))),
        ("dsu", Value::Text(env!("CARGO_PKG_VERSION"))),
        ("layout-outcome", layout::<Option<Result<UpdateReport, UpdateError>>>()),
        ("layout-status", layout::<Option<Status>>()),
        ("layout-slot-cell", layout::<SlotCell>()),
        ("layout-global-cell", layout::<GlobalCell>()),
        ("layout-record", layout::<Record>()),
    ]
}

/// The length of `declared`'s manifest.
#[doc(hidden)]
pub const fn encoded_len(declared: &Declared) -> usize {
    write(declared, &mut [])
}

/// `declared`'s manifest; `N` is its `encoded_len`.
#[doc(hidden)]
pub const fn encode<const N: usize>(declared: &Declared) -> [u8; N] {
    let mut out = [0; N];
    let written = write(declared, &mut out);
    assert!(written == N, "N is the manifest's encoded_len");
    out
}

/// Writes the manifest into `out` as far as it fits, and returns its whole length.
const fn write(declared: &Declared, out: &mut [u8]) -> usize {
    let mut at = put(out, 0, HEADER.as_bytes());
    at = put(out, at, b"\0");
    let records = records(declared);
    let mut i = 0;
    while i < records.len() {
        let (key, value) = records[i];
        at = put(out, at, key.as_bytes());
        at = put(out, at, b"=");
        at = match value {
            Value::Text(text) => put(out, at, text.as_bytes()),
            Value::Number(number) => put_number(out, at, number as u128),
            Value::Layout(size, align) => {
                let at = put_number(out, at, size as u128);
                let at = put(out, at, b"/");
                put_number(out, at, align as u128)
            }
        };
        at = put(out, at, b"\0");
        i += 1;
    }
    at
}

/// Writes `bytes` at `at`, the part of them that fits; returns where they end.
const fn put(out: &mut [u8], at: usize, bytes: &[u8]) -> usize {
    let mut i = 0;
    while i < bytes.len() {
        if at + i < out.len() {
            out[at + i] = bytes[i];
        }
        i += 1;
    }
    at + bytes.len()
}

/// Writes `number` in decimal at `at`; returns where it ends.
const fn put_number(out: &mut [u8], at: usize, number: u128) -> usize {
    let mut digits = [0u8; 39];
    let (mut len, mut rest) = (0, number);
    loop {
        digits[digits.len() - 1 - len] = b'0' + (rest % 10) as u8;
        len += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let (_, written) = digits.split_at(digits.len() - len);
    put(out, at, written)
}

/// A manifest as read from an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Manifest {
    records: Vec<(String, String)>,
    sequence: u64,
}

impl Manifest {
    /// Reads the manifest section of an ELF file: `Ok(None)` if it has none (it is not a dsu
    /// patch), an error saying what is wrong with one that cannot be read.
    pub(crate) fn of_image(file: &object::read::File<'_>) -> Result<Option<Manifest>, String> {
        use object::{Object, ObjectSection};
        let Some(section) = file.section_by_name(SECTION) else { return Ok(None) };
        let data = section.data().map_err(|e| format!("its {SECTION} section: {e}"))?;
        Manifest::parse(data).map(Some)
    }

    /// The manifest of `program`, the crate of this image that declared `dsu::patch!()`, or
    /// the runtime's own build where none did.
    pub(crate) fn of_program(program: Option<&ProgramInfo>) -> Manifest {
        let parsed = match program {
            Some(program) => Manifest::parse(program.manifest),
            None => {
                let own = Declared {
                    name: "",
                    version: "",
                    crate_name: "",
                    panic: if cfg!(panic = "unwind") { "unwind" } else { "abort" },
                    base: "",
                    sequence: 0,
                };
                let mut bytes = vec![0; encoded_len(&own)];
                write(&own, &mut bytes);
                Manifest::parse(&bytes)
            }
        };
        parsed.expect("this image's manifest was written by this runtime")
    }

    /// Reads an encoded manifest.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Manifest, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "it is not UTF-8".to_owned())?;
        // The linker may pad the section with NULs.
        let mut records = text.trim_end_matches('\0').split('\0');
        if records.next() != Some(HEADER) {
            return Err(format!("it does not start with `{HEADER}`"));
        }
        let mut read: Vec<(String, String)> = Vec::new();
        for record in records {
            if record == HEADER {
                return Err("it holds two manifests: more than one crate of the image declares \
                     `dsu::patch!()`"
                    .to_owned());
            }
            let Some((key, value)) = record.split_once('=') else {
                return Err(format!("its record `{record}` has no `=`"));
            };
            if read.iter().any(|(known, _)| known == key) {
                return Err(format!("it names `{key}` twice"));
            }
            read.push((key.to_owned(), value.to_owned()));
        }
        let value = |key: &str| read.iter().find(|(known, _)| known == key).map(|(_, v)| v);
        let required = ["crate", "version", "crate-name", "base", "sequence"];
        if let Some(missing) =
            required.iter().chain(BUILD.iter().map(|(key, _)| key)).find(|key| value(key).is_none())
        {
            return Err(format!("it has no `{missing}`"));
        }
        let sequence = value("sequence").expect("checked").parse().map_err(|_| {
            format!("its sequence `{}` is not a number", value("sequence").expect("checked"))
        })?;
        Ok(Manifest { records: read, sequence })
    }

    fn value(&self, key: &str) -> &str {
        let found = self.records.iter().find(|(known, _)| known == key);
        found.map(|(_, value)| value.as_str()).expect("`parse` checked every key is there")
    }

    /// The crate's package name (`CARGO_PKG_NAME`).
    pub(crate) fn name(&self) -> &str {
        self.value("crate")
    }

    /// The crate's version.
    pub(crate) fn version(&self) -> &str {
        self.value("version")
    }

    /// The crate's library name, as symbols spell it.
    pub(crate) fn crate_name(&self) -> &str {
        self.value("crate-name")
    }

    /// The version of the release this one is built on, if it declared one.
    pub(crate) fn base(&self) -> Option<&str> {
        Some(self.value("base")).filter(|base| !base.is_empty())
    }

    /// The sequence number of the release; 0 if it declared none.
    pub(crate) fn sequence(&self) -> u64 {
        self.sequence
    }

    /// Whether the crate was compiled with `panic = "abort"`: then no panic in its code can be
    /// caught.
    pub(crate) fn aborts_on_panic(&self) -> bool {
        self.value("panic") == "abort"
    }

    /// `name@version`, how reports name the release.
    pub(crate) fn label(&self) -> String {
        format!("{}@{}", self.name(), self.version())
    }

    /// The build records, by key.
    pub(crate) fn build(&self) -> Vec<(String, String)> {
        BUILD.iter().map(|(key, _)| (key.to_string(), self.value(key).to_owned())).collect()
    }

    /// Every build record in which `patch` differs from `self`, the running program's.
    pub(crate) fn build_differences(&self, patch: &Manifest) -> Vec<BuildDifference> {
        BUILD
            .iter()
            .filter(|(key, _)| self.value(key) != patch.value(key))
            .map(|&(key, field)| {
                let named = |manifest: &Manifest| match key.strip_prefix("layout-") {
                    Some(of) => format!("{of} {}", manifest.value(key)),
                    None => manifest.value(key).to_owned(),
                };
                BuildDifference { field, running: named(self), patch: named(patch) }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECLARED: Declared = Declared {
        name: "app",
        version: "1.2.0",
        crate_name: "app",
        panic: "unwind",
        base: "1.1.0",
        sequence: 18_446_744_073_709_551_615,
    };

    static ENCODED: [u8; encoded_len(&DECLARED)] = encode(&DECLARED);

    #[test]
    fn a_manifest_encoded_at_compile_time_reads_back() {
        let manifest = Manifest::parse(&ENCODED).unwrap();
        assert_eq!(
            (manifest.name(), manifest.version(), manifest.crate_name()),
            ("app", "1.2.0", "app")
        );
        assert_eq!((manifest.base(), manifest.sequence()), (Some("1.1.0"), u64::MAX));
        assert_eq!(manifest.label(), "app@1.2.0");
        assert!(manifest.build_differences(&manifest).is_empty());
        let text = String::from_utf8(ENCODED.to_vec()).unwrap();
        assert!(text.starts_with("dsu-manifest 1\0crate=app\0version=1.2.0\0"), "{text}");
        assert!(text.contains(&format!("\0layout-slot-cell={}/", size_of::<SlotCell>())));
    }

    #[test]
    fn what_was_not_declared_reads_as_absent() {
        let none = Declared { base: "", sequence: 0, ..DECLARED };
        let mut bytes = vec![0; encoded_len(&none)];
        write(&none, &mut bytes);
        let manifest = Manifest::parse(&bytes).unwrap();
        assert_eq!((manifest.base(), manifest.sequence()), (None, 0));
    }

    #[test]
    fn every_build_difference_is_named() {
        let running = Manifest::parse(&ENCODED).unwrap();
        let text = String::from_utf8(ENCODED.to_vec()).unwrap();
        let patch = text.replace("panic=unwind", "panic=abort").replace(
            &format!("layout-record={}/", size_of::<Record>()),
            &format!("layout-record={}/", size_of::<Record>() + 8),
        );
        let differences = running.build_differences(&Manifest::parse(patch.as_bytes()).unwrap());
        let fields: Vec<_> = differences.iter().map(|d| d.field).collect();
        assert_eq!(fields, ["panic strategy", "runtime layout"]);
        assert_eq!(differences[0].patch, "abort");
        assert!(differences[1].running.starts_with("record "), "{:?}", differences[1]);
    }

    #[test]
    fn malformed_manifests_are_refused_with_a_reason() {
        let text = String::from_utf8(ENCODED.to_vec()).unwrap();
        let cases = [
            (b"\xff".to_vec(), "not UTF-8"),
            (b"dsu-manifest 2\0".to_vec(), "does not start"),
            (format!("{text}{text}").into_bytes(), "two manifests"),
            (format!("{text}crate=other\0").into_bytes(), "names `crate` twice"),
            (format!("{text}junk\0").into_bytes(), "has no `=`"),
            (text.replace("\0dsu=", "\0dsx=").into_bytes(), "has no `dsu`"),
            (text.replace("=18446744073709551615", "=x").into_bytes(), "is not a number"),
            (text.replace("=18446744073709551615", "=18446744073709551616").into_bytes(), "number"),
        ];
        for (bytes, reason) in cases {
            let error = Manifest::parse(&bytes).expect_err(reason);
            assert!(error.contains(reason), "{reason}: {error}");
        }
        let padded = [&ENCODED[..], &[0; 7]].concat();
        assert_eq!(Manifest::parse(&padded).unwrap(), Manifest::parse(&ENCODED).unwrap());
    }
}
