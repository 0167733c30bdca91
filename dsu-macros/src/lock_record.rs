//! `__lock_record!(LOCK in "section", PATHS in "section")`: the build record of `dsu::patch!()`,
//! as two statics in sections of their own, where the runtime reads a patch's before loading
//! it (`dsu-rt`'s `lock.rs`):
//!
//! - `LOCK`: the bytes of the `Cargo.lock` the crate is built with: the workspace's, found as
//!   cargo finds it. `include_bytes!` makes the crate depend on the file, so a new lock file
//!   rebuilds it.
//! - `PATHS`: the library names of the path packages the crate depends on, transitively, one per
//!   line (the crate's own code: its workspace siblings, and path dependencies of the crates it
//!   shares). A lock file names packages, and a library may be named otherwise.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Token};

/// `NAME in "section"`.
struct Static {
    name: Ident,
    section: LitStr,
}

impl Parse for Static {
    fn parse(input: ParseStream<'_>) -> syn::Result<Static> {
        let name = input.parse()?;
        input.parse::<Token![in]>()?;
        Ok(Static { name, section: input.parse()? })
    }
}

struct Input {
    lock: Static,
    paths: Static,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Input> {
        let lock = input.parse()?;
        input.parse::<Token![,]>()?;
        Ok(Input { lock, paths: input.parse()? })
    }
}

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let Input { lock, paths } = syn::parse2(input)?;
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let lock_file = manifest_dir.as_deref().and_then(lock_file);
    let (len, bytes) = match &lock_file {
        Some(path) => {
            (quote!(::core::include_bytes!(#path).len()), quote!(*::core::include_bytes!(#path)))
        }
        None => (quote!(0), quote!([])),
    };
    let mut crates = BTreeSet::new();
    if let Some(dir) = &manifest_dir {
        path_crates(dir, &mut BTreeSet::new(), &mut crates);
    }
    let names: String = crates.iter().map(|name| format!("{name}\n")).collect();
    let names = proc_macro2::Literal::byte_string(names.as_bytes());
    let (lock_name, lock_section) = (&lock.name, &lock.section);
    let (paths_name, paths_section) = (&paths.name, &paths.section);
    Ok(quote! {
        #[doc(hidden)]
        #[used]
        #[unsafe(link_section = #lock_section)]
        static #lock_name: [u8; #len] = #bytes;

        #[doc(hidden)]
        #[used]
        #[unsafe(link_section = #paths_section)]
        static #paths_name: [u8; #names.len()] = *#names;
    })
}

/// The lock file cargo uses for the package in `dir`: the one beside the manifest of the
/// nearest workspace root at or above it, or its own. As a path a string literal can hold.
fn lock_file(dir: &Path) -> Option<String> {
    let root = dir
        .ancestors()
        .find(|ancestor| manifest(ancestor).is_some_and(|m| m.lines().any(is_workspace_table)))
        .unwrap_or(dir);
    let lock = root.join("Cargo.lock");
    lock.is_file().then(|| lock.to_str().map(str::to_owned)).flatten()
}

fn is_workspace_table(line: &str) -> bool {
    line.trim() == "[workspace]"
}

fn manifest(dir: &Path) -> Option<String> {
    fs::read_to_string(dir.join("Cargo.toml")).ok()
}

/// Adds the library names of the path packages the package in `dir` depends on, transitively,
/// and of its workspace's path dependencies, to `crates`. Reads the manifests' `path = ".."`
/// values that name a directory with a manifest, and each one's `[lib] name` or package name.
fn path_crates(dir: &Path, seen: &mut BTreeSet<PathBuf>, crates: &mut BTreeSet<String>) {
    let mut manifests = vec![dir.to_owned()];
    // The workspace root's manifest can name path dependencies for its members.
    if let Some(root) = dir
        .ancestors()
        .skip(1)
        .find(|ancestor| manifest(ancestor).is_some_and(|m| m.lines().any(is_workspace_table)))
    {
        manifests.push(root.to_owned());
    }
    for manifest_dir in manifests {
        let Some(text) = manifest(&manifest_dir) else { continue };
        for value in path_values(&text) {
            let Ok(dependency) = manifest_dir.join(value).canonicalize() else { continue };
            if !seen.insert(dependency.clone()) {
                continue;
            }
            let Some(dependency_manifest) = manifest(&dependency) else { continue };
            if let Some(name) = library_name(&dependency_manifest) {
                crates.insert(name);
            }
            path_crates(&dependency, seen, crates);
        }
    }
}

/// Every `path = "<value>"` in a manifest.
fn path_values(manifest: &str) -> Vec<&str> {
    let mut values = Vec::new();
    let mut rest = manifest;
    while let Some(at) = rest.find("path") {
        rest = &rest[at + "path".len()..];
        let after = rest.trim_start();
        let Some(after) = after.strip_prefix('=') else { continue };
        let Some(after) = after.trim_start().strip_prefix('"') else { continue };
        if let Some(end) = after.find('"') {
            values.push(&after[..end]);
        }
    }
    values
}

/// A package's library name: its `[lib] name`, or its package name with `-` as `_`.
fn library_name(manifest: &str) -> Option<String> {
    let mut table = "";
    let (mut package, mut lib) = (None, None);
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            table = line;
            continue;
        }
        let Some(value) = line.strip_prefix("name").map(str::trim_start) else { continue };
        let Some(value) = value.strip_prefix('=').map(|v| v.trim().trim_matches('"')) else {
            continue;
        };
        match table {
            "[package]" => package = Some(value.replace('-', "_")),
            "[lib]" => lib = Some(value.replace('-', "_")),
            _ => {}
        }
    }
    lib.or(package)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_library_is_named_by_its_lib_table_or_its_package() {
        let renamed = "[package]\nname = \"tk2-counters\"\n\n[lib]\nname = \"hits\"\n";
        assert_eq!(library_name(renamed).as_deref(), Some("hits"));
        let plain = "[package]\nname = \"tokioapp-core\"\nversion = \"1.0.0\"\n";
        assert_eq!(library_name(plain).as_deref(), Some("tokioapp_core"));
    }

    #[test]
    fn path_values_are_read_from_inline_and_dotted_tables() {
        let manifest = "[lib]\npath = \"../v2/src/lib.rs\"\n[dependencies]\n\
                        core = { path = \"core\" }\nx = { version = \"1\", path=\"../x\" }\n";
        assert_eq!(path_values(manifest), ["../v2/src/lib.rs", "core", "../x"]);
    }
}
