//! The lists an image's linker builds: every updateable item and global of the image, and the
//! crate it was built from. Each image, the program and every patch, has its own lists; a
//! patch's manifest carries its lists to the program (see `patch.rs`).

use dsu_abi::{GlobalDesc, ItemDesc};

/// Every updateable item of this image, registered by the macros.
#[linkme::distributed_slice]
pub static ITEMS: [ItemDesc];

/// Every updateable global of this image, registered by the macros.
#[linkme::distributed_slice]
pub static GLOBALS: [GlobalDesc];

/// The crate this image was built from, registered by `dsu::patch!()`.
#[linkme::distributed_slice]
pub static PROGRAMS: [ProgramInfo];

/// Name, version and panic strategy of the crate that declared `dsu::patch!()`.
#[derive(Debug)]
pub struct ProgramInfo {
    /// `CARGO_PKG_NAME`.
    pub name: &'static str,
    /// `CARGO_PKG_VERSION`.
    pub version: &'static str,
    /// `CARGO_CRATE_NAME`: the library's name, as symbols name it.
    pub crate_name: &'static str,
    /// The packages of the `Cargo.lock` the crate was built with, a line each (empty if none was
    /// found): the versions and sources of its dependencies.
    pub lock: &'static [u8],
    /// The library names of the path packages the crate depends on, one per line.
    pub path_crates: &'static [u8],
    /// `"unwind"` or `"abort"`: how the crate itself was compiled, which a Cargo profile's
    /// `panic` or flags given to that crate alone decide (a build script cannot see either).
    pub panic: &'static str,
}
