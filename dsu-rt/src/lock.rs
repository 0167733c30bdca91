//! The build records of the program and of a patch: the `Cargo.lock` each was built with (the
//! releases and sources of its dependencies) and the library names of the path packages it
//! depends on (its own code). `dsu::patch!()` writes both into every image, in sections the
//! program reads in a patch before loading it, and in the program's own `ProgramInfo`.
//!
//! For every crate whose code the patch takes from the program's shared libraries, the two
//! lock files must name the same releases from the same sources. A crate of another release is
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

    /// A patch's record, from its sections; `None` if it has no lock file.
    pub(crate) fn of_image(bytes: &[u8]) -> Option<Record> {
        use object::{Object, ObjectSection};
        let file = object::read::File::parse(bytes).ok()?;
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

    /// Reads the `[[package]]` tables of a lock file: their `name`, `version` and `source`.
    fn parse(bytes: &[u8]) -> Vec<Package> {
        let text = String::from_utf8_lossy(bytes);
        let mut packages = Vec::new();
        let mut current: Option<(String, String, Option<String>)> = None;
        let mut finish = |current: Option<(String, String, Option<String>)>| {
            if let Some((name, version, source)) = current {
                packages.push(Package { name: name.replace('-', "_"), version, source });
            }
        };
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                finish(current.take());
                if line == "[[package]]" {
                    current = Some(Default::default());
                }
                continue;
            }
            let (Some(package), Some((key, value))) = (current.as_mut(), line.split_once(" = "))
            else {
                continue;
            };
            let value = value.trim_matches('"').to_owned();
            match key {
                "name" => package.0 = value,
                "version" => package.1 = value,
                "source" => package.2 = Some(value),
                _ => {}
            }
        }
        finish(current);
        packages
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
        let versions = |packages: &BTreeSet<&Package>| {
            let versions: Vec<&str> = packages.iter().map(|p| p.version.as_str()).collect();
            if versions.is_empty() {
                "no release of it".to_owned()
            } else {
                versions.join(" and ")
            }
        };
        changes.push(DependencyChange {
            krate: krate.clone(),
            running: versions(&shared),
            patch: versions(&built),
        });
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
        match (parts.next(), parts.next()) {
            (Some("0"), Some(minor)) => format!("0.{minor}"),
            (Some(major), _) => major.to_owned(),
            _ => package.version.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    const RUNNING: &str = r#"
# This file is automatically @generated by Cargo.
version = 4

[[package]]
name = "fastrand"
version = "2.5.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "0123"

[[package]]
name = "tokio"
version = "1.54.1"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = [
 "pin-project-lite",
]

[[package]]
name = "my-core"
version = "1.0.0"
"#;

    fn imported(crates: &[&str]) -> BTreeSet<String> {
        crates.iter().map(|c| c.to_string()).collect()
    }

    fn record(lock: &str) -> Record {
        Record::new(lock.as_bytes(), b"hits\n").unwrap()
    }

    #[test]
    fn a_lock_file_is_read_package_by_package() {
        let packages = Record::parse(RUNNING.as_bytes());
        assert_eq!(packages.len(), 3);
        assert_eq!(packages[1].name, "tokio");
        assert_eq!(packages[1].version, "1.54.1");
        assert_eq!(packages[2].name, "my_core");
        assert_eq!(packages[2].source, None);
        assert!(Record::new(b"", b"").is_none(), "no lock file, no record");
    }

    #[test]
    fn the_same_releases_pass() {
        let (running, patch) = (record(RUNNING), record(RUNNING));
        check(Path::new("p.so"), &patch, &running, &imported(&["tokio", "fastrand", "itoa"]))
            .unwrap();
    }

    #[test]
    fn a_second_release_of_the_patchs_own_is_left_to_it() {
        let running = record(RUNNING);
        let second = "[[package]]\nname = \"fastrand\"\nversion = \"1.9.0\"\n\
                      source = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
        let patch = record(&format!("{RUNNING}\n{second}"));
        check(Path::new("p.so"), &patch, &running, &imported(&["fastrand"])).unwrap();
    }

    #[test]
    fn a_line_of_releases_the_patch_dropped_is_not_asked_for() {
        let second = "[[package]]\nname = \"fastrand\"\nversion = \"1.9.0\"\n\
                      source = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
        let running = record(&format!("{RUNNING}\n{second}"));
        check(Path::new("p.so"), &record(RUNNING), &running, &imported(&["fastrand"])).unwrap();
    }

    #[test]
    fn a_registry_crate_of_a_path_crates_name_is_not_only_the_programs_code() {
        let record = record(RUNNING);
        assert!(record.is_only_path_crate("hits") && record.is_only_path_crate("my_core"));
        let both = Record::new(
            RUNNING.replace("name = \"tokio\"", "name = \"hits\"").as_bytes(),
            b"hits\n",
        )
        .unwrap();
        assert!(both.is_path_crate("hits") && !both.is_only_path_crate("hits"));
    }

    #[test]
    fn another_release_is_named_with_both_versions() {
        let running = record(RUNNING);
        let patch = record(&RUNNING.replace("2.5.0", "2.1.1"));
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
        let record = record(RUNNING);
        let error = check(Path::new("p.so"), &record, &record, &imported(&["my_core", "hits"]))
            .unwrap_err();
        let UpdateError::SharedPathDependency { crates, .. } = &error else { panic!("{error}") };
        assert_eq!(crates, &["hits", "my_core"]);
    }

    #[test]
    fn an_image_without_the_sections_has_no_record() {
        let bytes = std::fs::read("/proc/self/exe").unwrap();
        assert!(Record::of_image(&bytes).is_none());
    }
}
