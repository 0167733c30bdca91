//! `dsu::inspect`: what a patch file says of itself, read from its bytes without loading it,
//! so none of its code runs: its signature, its manifest section and the libraries it needs.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::UpdateError;
use crate::linkage::Needs;
use crate::loader;
use crate::update::{self, UpdateOptions};

/// What a patch file declares: its crate and release, the build it was made with and the
/// libraries it needs, as [`inspect`](crate::inspect) read them from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PatchInfo {
    /// The file.
    pub path: PathBuf,
    /// The crate's package name.
    pub package: String,
    /// The crate's version.
    pub version: String,
    /// The crate's library name, as its symbols spell it.
    pub crate_name: String,
    /// The version of the release it is built on, if it declares one
    /// (`dsu::patch!(base = "..")`).
    pub base: Option<String>,
    /// Its sequence number; 0 if it declares none (`dsu::patch!(sequence = N)`).
    pub sequence: u64,
    /// Whether a key the program trusts signed it. `false` when the program trusts no key:
    /// then the signature is not read. (With trusted keys, an unsigned patch is refused.)
    pub signed: bool,
    /// The build it was made with, as the manifest records it: compiler, target, panic
    /// strategy, target features, rustflags, dsu version, runtime layouts.
    pub build: Vec<(String, String)>,
    /// The libraries its dynamic section needs.
    pub libraries: Vec<String>,
}

crate::fingerprint::dsu_types! { PatchInfo, }

impl fmt::Display for PatchInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {} {}", self.path.display(), self.package, self.version)?;
        match (&self.base, self.sequence) {
            (None, 0) => writeln!(f, "  release: not declared")?,
            (base, sequence) => writeln!(
                f,
                "  release: sequence {sequence}, built on {}",
                base.as_deref().unwrap_or("(not declared)")
            )?,
        }
        let signed = if self.signed {
            "by a key the program trusts"
        } else {
            "not checked (the program trusts no key)"
        };
        writeln!(f, "  signature: {signed}")?;
        for (key, value) in &self.build {
            writeln!(f, "  {key}: {value}")?;
        }
        write!(f, "  needs: {}", self.libraries.join(", "))
    }
}

/// Reads the patch at `path` as an update would before loading it, and loads nothing. With
/// trusted keys (`dsu::trust`), its signature is checked first, as for an update.
pub(crate) fn inspect_here(path: &Path, options: &UpdateOptions) -> Result<PatchInfo, UpdateError> {
    let (bytes, signed) = update::read_signed(path, options)?;
    let file = loader::shared_library(path, &bytes)?;
    let manifest = update::manifest_of(path, &file)?;
    let needs = Needs::of_patch(path, &bytes)?;
    Ok(PatchInfo {
        path: path.to_owned(),
        package: manifest.name().to_owned(),
        version: manifest.version().to_owned(),
        crate_name: manifest.crate_name().to_owned(),
        base: manifest.base().map(str::to_owned),
        sequence: manifest.sequence(),
        signed,
        build: manifest.build(),
        libraries: needs.libraries,
    })
}
