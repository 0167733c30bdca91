//! The lists an image's linker builds: every updateable item, global and type of the image, and the
//! crate it was built from. Each image, the program and every patch, has its own lists; a
//! patch's manifest carries its lists to the program (see `patch.rs`).

use dsu_abi::{GlobalDesc, ItemDesc, TypeDesc};

/// Every updateable item of this image, registered by the macros.
#[linkme::distributed_slice]
pub static ITEMS: [ItemDesc];

/// Every updateable global of this image, registered by the macros.
#[linkme::distributed_slice]
pub static GLOBALS: [GlobalDesc];

/// Every updateable type of this image, registered by the macros.
#[linkme::distributed_slice]
pub static TYPES: [TypeDesc];

/// The crate this image was built from, registered by `dsu::patch!()`.
#[linkme::distributed_slice]
pub static PROGRAMS: [ProgramInfo];

/// What `dsu::patch!()` records of the crate that declares it.
#[derive(Debug)]
pub struct ProgramInfo {
    /// The crate's manifest section (see `manifest.rs`): its name, version, release and build.
    pub manifest: &'static [u8],
    /// The packages of the `Cargo.lock` the crate was built with, a line each (empty if none was
    /// found): the versions and sources of its dependencies.
    pub lock: &'static [u8],
    /// The library names of the path packages the crate depends on, one per line.
    pub path_crates: &'static [u8],
    /// The crate's graph (see `reach.rs`): its items, their fingerprints and what each one's
    /// code names.
    pub graph: &'static [u8],
}
