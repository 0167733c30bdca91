//! The build records of the program and of a patch: the packages of the `Cargo.lock` each was
//! built with (the releases and sources of its dependencies) and the library names of the path
//! packages it depends on (its own code). `dsu::patch!()` writes both into every image, in
//! sections the program reads in a patch before loading it, and in the program's own
//! `ProgramInfo`.
//!
//! For every crate whose code the patch takes from the program's shared libraries, the two
//! must have the same release in each line of compatible releases they share, from the same
//! source (`compatible`). A crate of another release is
//! refused by name, with both versions. A path package is refused in any case: its symbols keep
//! their names when its code changes, so a patch built against an edited copy would silently
//! run the program's old code.

use std::collections::BTreeSet;
use std::path::Path;

use crate::error::{DependencyChange, UpdateError};

/// The section of an image that holds its lock file; `dsu::patch!()` names it too.
pub(crate) const LOCK_SECTION: &str = ".dsu.lock";
/// The section of an image that holds the names of its path crates; `dsu::patch!()` names it
/// too.
pub(crate) const PATHS_SECTION: &str = ".dsu.paths";

/// One package of a lock file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Package {
    /// The name as symbols spell the crate: `-` as `_`.
    name: String,
    version: String,
    /// `None` for a path dependency.
    source: Option<String>,
}

/// What an image was built with.
#[derive(Debug, Default)]
pub(crate) struct Record {
    /// The packages of its lock file.
    packages: Vec<Package>,
    /// The library names of the path packages it depends on.
    path_crates: BTreeSet<String>,
}

impl Record {
    /// The record of an image whose lock file is `lock` and path crates `paths`, one per line.
    /// `None` if it has no lock file: it was not built by cargo, or from no workspace.
    pub(crate) fn new(lock: &[u8], paths: &[u8]) -> Option<Record> {
        if lock.is_empty() {
            return None;
        }
        let path_crates =
            String::from_utf8_lossy(paths).lines().map(str::to_owned).collect::<BTreeSet<_>>();
        Some(Record { packages: Record::parse(lock), path_crates })
    }

    /// The record of an image whose lock file may be missing: its path crates alone then.
    pub(crate) fn or_paths(lock: &[u8], paths: &[u8]) -> Record {
        Record::new(lock, paths).unwrap_or_else(|| Record {
            packages: Vec::new(),
            path_crates: String::from_utf8_lossy(paths).lines().map(str::to_owned).collect(),
        })
    }

    /// Whether the record names no crate of the image's own code: the image was not built by
    /// cargo, or without `dsu::patch!()`.
    pub(crate) fn knows_no_own_code(&self) -> bool {
        self.path_crates.is_empty() && self.packages.iter().all(|p| p.source.is_some())
    }

    /// A patch's record, from its sections; `None` if it has no lock file.
    pub(crate) fn of_image(file: &object::read::File<'_>) -> Option<Record> {
        use object::{Object, ObjectSection};
        let section = |name: &str| -> &[u8] {
            file.section_by_name(name).and_then(|section| section.data().ok()).unwrap_or_default()
        };
        Record::new(section(LOCK_SECTION), section(PATHS_SECTION))
    }

    /// Whether `krate` may be a path package, by its library's name or its package's.
    pub(crate) fn is_path_crate(&self, krate: &str) -> bool {
        self.path_crates.contains(krate)
            || self.packages.iter().any(|p| p.name == krate && p.source.is_none())
    }

    /// Whether `krate` is only the image's own code: a path package, and no registry or git
    /// package of the lock file has its name.
    pub(crate) fn is_only_path_crate(&self, krate: &str) -> bool {
        self.is_path_crate(krate)
            && !self.packages.iter().any(|p| p.name == krate && p.source.is_some())
    }

    /// Reads the packages of a record: a line each, name, version and source separated by tabs
    /// (`dsu-macros`'s `lock_record.rs` writes them from the lock file).
    fn parse(bytes: &[u8]) -> Vec<Package> {
        let text = String::from_utf8_lossy(bytes);
        let package = |line: &str| {
            let mut fields = line.split('\t');
            let (name, version, source) = (fields.next()?, fields.next()?, fields.next()?);
            let source = (!source.is_empty()).then(|| source.to_owned());
            Some(Package { name: name.to_owned(), version: version.to_owned(), source })
        };
        text.lines().filter_map(package).collect()
    }

    fn packages_of(&self, krate: &str) -> BTreeSet<&Package> {
        self.packages.iter().filter(|package| package.name == krate).collect()
    }
}

/// Refuses a patch that takes code of a path package from the program's shared libraries, or
/// whose lock file lacks a release the program's names, for a crate in `imported`: those whose
/// code it takes from there. Releases the patch has besides (another major version that a
/// dependency of its own needs) are its own.
pub(crate) fn check(
    path: &Path,
    patch: &Record,
    running: &Record,
    imported: &BTreeSet<String>,
) -> Result<(), UpdateError> {
    let mut paths = Vec::new();
    let mut changes = Vec::new();
    for krate in imported {
        if patch.is_path_crate(krate) || running.is_path_crate(krate) {
            paths.push(krate.clone());
            continue;
        }
        let (built, shared) = (patch.packages_of(krate), running.packages_of(krate));
        // A registry crate whose library is named otherwise than its package is left to the
        // symbols, whose names carry its release.
        if built.is_empty() || compatible(&shared, &built) {
            continue;
        }
        changes.push(change(krate, &shared, &built));
    }
    if !paths.is_empty() {
        return Err(UpdateError::SharedPathDependency { path: path.to_owned(), crates: paths });
    }
    if !changes.is_empty() {
        return Err(UpdateError::SharedDependencyChanged { path: path.to_owned(), changes });
    }
    Ok(())
}

/// Whether the patch was built with the program's release of every line of releases the two
/// have (semver-compatible releases: of one major version, or of one `0.minor`). A line only
/// one of them has is its own: a dependency that needs it was added or dropped. With no line in
/// common, nothing the patch imports can be the program's.
fn compatible(shared: &BTreeSet<&Package>, built: &BTreeSet<&Package>) -> bool {
    let line = |package: &Package| {
        let mut parts = package.version.split('.');
        match (parts.next().unwrap_or_default(), parts.next()) {
            ("0", Some(minor)) => format!("0.{minor}"),
            (major, _) => major.to_owned(),
        }
    };
    let mut common = false;
    for package in shared {
        let same_line: Vec<&&Package> = built.iter().filter(|b| line(b) == line(package)).collect();
        if same_line.is_empty() {
            continue;
        }
        common = true;
        if !same_line.iter().any(|b| b.version == package.version && b.source == package.source) {
            return false;
        }
    }
    common
}

/// The crates whose paths `name` mentions: each identifier that starts a path (`bytes` of
/// `bytes::bytes::Bytes`), in order, once each.
pub(crate) fn crates_named(name: &str) -> Vec<&str> {
    let mut crates = Vec::new();
    let bytes = name.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        if ident(bytes[i]) && (i == 0 || (!ident(bytes[i - 1]) && bytes[i - 1] != b':')) {
            let start = i;
            while i < bytes.len() && ident(bytes[i]) {
                i += 1;
            }
            let krate = &name[start..i];
            if name[i..].starts_with("::") && !crates.contains(&krate) {
                crates.push(krate);
            }
        } else {
            i += 1;
        }
    }
    crates
}

/// `krate` in the releases `running` has and in those `built` has, for a message.
fn change(
    krate: &str,
    running: &BTreeSet<&Package>,
    built: &BTreeSet<&Package>,
) -> DependencyChange {
    let versions = |packages: &BTreeSet<&Package>| {
        let versions: Vec<&str> = packages.iter().map(|p| p.version.as_str()).collect();
        if versions.is_empty() {
            "no release of it".to_owned()
        } else {
            versions.join(" and ")
        }
    };
    DependencyChange { krate: krate.to_owned(), running: versions(running), patch: versions(built) }
}

/// Refuses a patch in which a type of another crate crosses the update (in a signature or a
/// global's type: `names`, see `foreign.rs`) with other releases of its crate than the program
/// was built with: two releases of a crate may give one name to types of two layouts. Without
/// both records there is nothing to compare, and the fingerprints alone decide.
pub(crate) fn check_crossing(
    path: &Path,
    names: &[&str],
    patch: Option<&Record>,
    running: Option<&Record>,
) -> Result<(), UpdateError> {
    let (Some(patch), Some(running)) = (patch, running) else { return Ok(()) };
    let crates: BTreeSet<&str> = names.iter().flat_map(|name| crates_named(name)).collect();
    let mut changes = Vec::new();
    for krate in crates {
        if patch.is_path_crate(krate) || running.is_path_crate(krate) {
            continue;
        }
        let (built, shared) = (patch.packages_of(krate), running.packages_of(krate));
        if built != shared {
            changes.push(change(krate, &shared, &built));
        }
    }
    if changes.is_empty() {
        Ok(())
    } else {
        Err(UpdateError::SharedDependencyChanged { path: path.to_owned(), changes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

    /// A record's packages, as `lock_record.rs` writes them.
    fn lines() -> String {
        format!("fastrand\t2.5.0\t{CRATES_IO}\ntokio\t1.54.1\t{CRATES_IO}\nmy_core\t1.0.0\t\n")
    }

    fn imported(crates: &[&str]) -> BTreeSet<String> {
        crates.iter().map(|c| c.to_string()).collect()
    }

    fn record(lock: &str) -> Record {
        Record::new(lock.as_bytes(), b"hits\n").unwrap()
    }

    #[test]
    fn a_type_of_another_release_is_refused_where_it_crosses() {
        let running = record(&lines());
        let patch = record(&lines().replace("tokio\t1.54.1", "tokio\t1.55.0"));
        let names = ["tokio::sync::broadcast::Receiver<my_core::Message>", "alloc::string::String"];
        let path = Path::new("p.so");
        let error = check_crossing(path, &names, Some(&patch), Some(&running)).unwrap_err();
        let UpdateError::SharedDependencyChanged { changes, .. } = error else { panic!() };
        assert_eq!(changes.len(), 1, "the path crate `my_core` and std are not compared");
        assert_eq!((changes[0].running.as_str(), changes[0].patch.as_str()), ("1.54.1", "1.55.0"));
        // The same releases, or a crate no crossing type names, pass; without a record of the
        // program's there is nothing to compare.
        check_crossing(path, &names, Some(&running), Some(&running)).unwrap();
        check_crossing(path, &["fastrand::Rng"], Some(&patch), Some(&running)).unwrap();
        check_crossing(path, &names, Some(&patch), None).unwrap();
    }

    #[test]
    fn a_record_is_read_package_by_package() {
        let packages = Record::parse(lines().as_bytes());
        assert_eq!(packages.len(), 3);
        assert_eq!(packages[1].name, "tokio");
        assert_eq!(packages[1].version, "1.54.1");
        assert_eq!(packages[2].name, "my_core");
        assert_eq!(packages[2].source, None);
        assert!(Record::new(b"", b"").is_none(), "no lock file, no record");
    }

    #[test]
    fn the_same_releases_pass() {
        let (running, patch) = (record(&lines()), record(&lines()));
        check(Path::new("p.so"), &patch, &running, &imported(&["tokio", "fastrand", "itoa"]))
            .unwrap();
    }

    #[test]
    fn a_second_release_of_the_patchs_own_is_left_to_it() {
        let running = record(&lines());
        let patch = record(&format!("{}fastrand\t1.9.0\t{CRATES_IO}\n", lines()));
        check(Path::new("p.so"), &patch, &running, &imported(&["fastrand"])).unwrap();
    }

    #[test]
    fn a_line_of_releases_the_patch_dropped_is_not_asked_for() {
        let running = record(&format!("{}fastrand\t1.9.0\t{CRATES_IO}\n", lines()));
        check(Path::new("p.so"), &record(&lines()), &running, &imported(&["fastrand"])).unwrap();
    }

    #[test]
    fn a_registry_crate_of_a_path_crates_name_is_not_only_the_programs_code() {
        let record = record(&lines());
        assert!(record.is_only_path_crate("hits") && record.is_only_path_crate("my_core"));
        let both = Record::new(lines().replace("tokio\t", "hits\t").as_bytes(), b"hits\n").unwrap();
        assert!(both.is_path_crate("hits") && !both.is_only_path_crate("hits"));
    }

    #[test]
    fn another_release_is_named_with_both_versions() {
        let running = record(&lines());
        let patch = record(&lines().replace("2.5.0", "2.1.1"));
        let error = check(Path::new("p.so"), &patch, &running, &imported(&["fastrand", "tokio"]))
            .unwrap_err();
        let UpdateError::SharedDependencyChanged { changes, .. } = &error else {
            panic!("{error}")
        };
        assert_eq!(changes.len(), 1);
        assert_eq!(
            (changes[0].krate.as_str(), changes[0].running.as_str(), changes[0].patch.as_str()),
            ("fastrand", "2.5.0", "2.1.1")
        );
        assert!(error.to_string().contains("fastrand 2.1.1"), "{error}");
    }

    #[test]
    fn a_shared_path_dependency_is_refused_by_its_package_or_library_name() {
        let record = record(&lines());
        let error = check(Path::new("p.so"), &record, &record, &imported(&["my_core", "hits"]))
            .unwrap_err();
        let UpdateError::SharedPathDependency { crates, .. } = &error else { panic!("{error}") };
        assert_eq!(crates, &["hits", "my_core"]);
    }

    #[test]
    fn an_image_without_the_sections_has_no_record() {
        let bytes = std::fs::read("/proc/self/exe").unwrap();
        assert!(Record::of_image(&object::read::File::parse(&*bytes).unwrap()).is_none());
    }
}
