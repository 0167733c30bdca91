//! A package's manifest, as far as the macros read one: its library's crate name and root file.

use std::fs;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

/// A package's library.
pub(crate) struct Library {
    /// The package's `Cargo.toml`, parsed.
    pub(crate) manifest: Table,
    /// The library's crate name (`[lib] name`, or the package's with `-` as `_`).
    pub(crate) name: String,
    /// Its root file (`[lib] path`, or `src/lib.rs`).
    pub(crate) root: PathBuf,
}

/// The library of the package in `package`, or why there is none to read.
pub(crate) fn library(package: &Path) -> Result<Library, String> {
    let text = fs::read_to_string(package.join("Cargo.toml"))
        .map_err(|error| format!("its Cargo.toml cannot be read ({error})"))?;
    let manifest: Table =
        text.parse().map_err(|error| format!("its Cargo.toml cannot be parsed ({error})"))?;
    let library = manifest.get("lib").and_then(Value::as_table);
    let package_name = manifest
        .get("package")
        .and_then(|package| package.get("name"))
        .and_then(Value::as_str)
        .ok_or("its Cargo.toml has no `[package]` name")?
        .replace('-', "_");
    let name = library
        .and_then(|lib| lib.get("name"))
        .and_then(Value::as_str)
        .map_or(package_name, str::to_owned);
    let root = library
        .and_then(|lib| lib.get("path"))
        .and_then(Value::as_str)
        .map_or_else(|| package.join("src/lib.rs"), |path| package.join(path));
    Ok(Library { manifest, name, root })
}
