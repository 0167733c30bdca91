//! `__lock_record!(LOCK in "section", PATHS in "section")`: the build record of `dsu::patch!()`,
//! as two statics in sections of their own, where the runtime reads a patch's before loading
//! it (`dsu-rt`'s `lock.rs`):
//!
//! - `LOCK`: the packages of the `Cargo.lock` the crate is built with (the workspace's, found as
//!   cargo finds it), one per line, read here so that the runtime reads no TOML.
//!   `include_bytes!` makes the crate depend on the file, so a new lock file rebuilds it.
//! - `PATHS`: the library names of the crate and of the path packages it depends on,
//!   transitively, one per line (the crate's own code: its workspace siblings, and path
//!   dependencies of the crates it shares). A lock file names packages, and a library may be
//!   named otherwise.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Token};
use toml::{Table, Value};

/// `NAME in "section"`: a static of a section of dsu's own, as `dsu::patch!()` names them.
pub(crate) struct Static {
    pub(crate) name: Ident,
    pub(crate) section: LitStr,
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
    // `include_bytes!` makes the crate depend on the lock file: a new one rebuilds it, and this
    // record with it.
    let track = lock_file.as_ref().map(|path| {
        quote!(
            const _: &[u8] = ::core::include_bytes!(#path);
        )
    });
    let packages = lock_file.as_deref().map(packages).unwrap_or_default();
    let mut crates = BTreeSet::new();
    if let Some(dir) = &manifest_dir {
        path_crates(dir, &mut BTreeSet::new(), &mut crates);
    }
    // The crate itself, by its library's name, which its package's may not be.
    crates.extend(std::env::var("CARGO_CRATE_NAME"));
    let names: String = crates.iter().map(|name| format!("{name}\n")).collect();
    let record = |text: &str, name: &Ident, section: &LitStr| {
        let bytes = proc_macro2::Literal::byte_string(text.as_bytes());
        // SAFETY (of `link_section`): the section is one of dsu's own `.dsu.*`, plain bytes
        // that no linker or loader gives a meaning to.
        quote! {
            #[doc(hidden)]
            #[used]
            #[unsafe(link_section = #section)]
            static #name: [u8; #bytes.len()] = *#bytes;
        }
    };
    let lock = record(&packages, &lock.name, &lock.section);
    let paths = record(&names, &paths.name, &paths.section);
    Ok(quote! { #track #lock #paths })
}

/// The packages of the lock file at `path`, one per line: the name as symbols spell it (`-` as
/// `_`), the version and the source (empty for a path package), separated by tabs. Empty if the
/// file cannot be read.
fn packages(path: &str) -> String {
    let Some(lock) = fs::read_to_string(path).ok().and_then(|text| text.parse::<Table>().ok())
    else {
        return String::new();
    };
    let packages = lock.get("package").and_then(Value::as_array).into_iter().flatten();
    let field = |package: &Value, key: &str| {
        package.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
    };
    packages
        .map(|package| {
            let name = field(package, "name").replace('-', "_");
            format!("{name}\t{}\t{}\n", field(package, "version"), field(package, "source"))
        })
        .collect()
}

/// The lock file cargo uses for the package in `dir`: the one beside the manifest of its
/// workspace's root (the nearest at or above it with a `[workspace]` table, or the one its
/// `package.workspace` names), or its own. As a path a string literal can hold.
fn lock_file(dir: &Path) -> Option<String> {
    let lock = workspace_root(dir).unwrap_or_else(|| dir.to_owned()).join("Cargo.lock");
    lock.is_file().then(|| lock.to_str().map(str::to_owned)).flatten()
}

/// The manifest in `dir`, parsed.
fn manifest(dir: &Path) -> Option<Table> {
    fs::read_to_string(dir.join("Cargo.toml")).ok()?.parse().ok()
}

/// The root of the workspace of the package in `dir`, if it has one.
fn workspace_root(dir: &Path) -> Option<PathBuf> {
    let own = manifest(dir)?;
    if let Some(root) = own.get("package").and_then(|p| p.get("workspace")).and_then(|w| w.as_str())
    {
        return Some(dir.join(root));
    }
    dir.ancestors()
        .find(|ancestor| manifest(ancestor).is_some_and(|m| m.contains_key("workspace")))
        .map(Path::to_owned)
}

/// Adds the library names of the path packages that the package in `dir` depends on, as a
/// normal or build dependency, transitively, to `crates`: those its manifest names with `path`
/// (in `[dependencies]`, `[build-dependencies]` and their `[target.'..']` forms, directly or
/// through `workspace = true`), and those its workspace's `[patch]` tables put in place of
/// others.
fn path_crates(dir: &Path, seen: &mut BTreeSet<PathBuf>, crates: &mut BTreeSet<String>) {
    let Some(own) = manifest(dir) else { return };
    let root = workspace_root(dir);
    let root_manifest = root.as_deref().and_then(manifest);
    let mut dependencies: Vec<PathBuf> = Vec::new();
    let mut tables: Vec<&Table> = Vec::new();
    for kind in ["dependencies", "build-dependencies"] {
        tables.extend(own.get(kind).and_then(Value::as_table));
        let targets = own.get("target").and_then(Value::as_table).into_iter().flatten();
        for (_, target) in targets {
            tables.extend(target.get(kind).and_then(Value::as_table));
        }
    }
    for table in tables {
        for (name, dependency) in table {
            if let Some(path) = dependency.get("path").and_then(Value::as_str) {
                dependencies.push(dir.join(path));
            } else if dependency.get("workspace").and_then(Value::as_bool) == Some(true) {
                let inherited = root_manifest
                    .as_ref()
                    .and_then(|m| m.get("workspace")?.get("dependencies")?.get(name.as_str()));
                if let (Some(path), Some(root)) =
                    (inherited.and_then(|d| d.get("path")).and_then(Value::as_str), &root)
                {
                    dependencies.push(root.join(path));
                }
            }
        }
    }
    let patches =
        [(dir.to_owned(), Some(&own)), (root.clone().unwrap_or_default(), root_manifest.as_ref())];
    for (base, manifest) in patches {
        let sources = manifest.and_then(|m| m.get("patch")).and_then(Value::as_table);
        for (_, source) in sources.into_iter().flatten() {
            for (_, patched) in source.as_table().into_iter().flatten() {
                if let Some(path) = patched.get("path").and_then(Value::as_str) {
                    dependencies.push(base.join(path));
                }
            }
        }
    }
    for dependency in dependencies {
        let Ok(dependency) = dependency.canonicalize() else { continue };
        if !seen.insert(dependency.clone()) {
            continue;
        }
        if let Some(name) = manifest(&dependency).as_ref().and_then(library_name) {
            crates.insert(name);
        }
        path_crates(&dependency, seen, crates);
    }
}

/// A package's library name: its `[lib] name`, or its package name with `-` as `_`.
fn library_name(manifest: &Table) -> Option<String> {
    let name = |table: &str| manifest.get(table)?.get("name")?.as_str().map(str::to_owned);
    Some(name("lib").or_else(|| name("package"))?.replace('-', "_"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        text.parse().unwrap()
    }

    #[test]
    fn a_lock_file_becomes_a_line_per_package() {
        let path = std::env::temp_dir().join(format!("dsu-lock-{}.lock", std::process::id()));
        let lock = "version = 4\n\n[[package]]\nname = \"tokio-util\"\nversion = \"0.7.1\"\n\
                    source = \"registry+https://github.com/rust-lang/crates.io-index\"\n\
                    dependencies = [\n \"tokio\",\n]\n\n[[package]]\nname = \"my-core\"\n\
                    version = \"1.0.0\"\n";
        fs::write(&path, lock).unwrap();
        let packages = packages(path.to_str().unwrap());
        let _ = fs::remove_file(&path);
        assert_eq!(
            packages,
            "tokio_util\t0.7.1\tregistry+https://github.com/rust-lang/crates.io-index\n\
             my_core\t1.0.0\t\n"
        );
    }

    #[test]
    fn a_library_is_named_by_its_lib_table_or_its_package() {
        let renamed = table(
            "[package]\nname = 'tk2-counters' # counts\n\n[lib]\nname = \"hits\" # renamed\n",
        );
        assert_eq!(library_name(&renamed).as_deref(), Some("hits"));
        let plain = table("[package]\nname = \"tokioapp-core\"\nversion = \"1.0.0\"\n");
        assert_eq!(library_name(&plain).as_deref(), Some("tokioapp_core"));
    }

    #[test]
    fn path_dependencies_are_followed_but_not_dev_dependencies_or_comments() {
        let root = std::env::temp_dir().join(format!("dsu-lock-record-{}", std::process::id()));
        let write = |dir: &str, manifest: &str| {
            fs::create_dir_all(root.join(dir)).unwrap();
            fs::write(root.join(dir).join("Cargo.toml"), manifest).unwrap();
        };
        write(
            "app",
            "[package]\nname = \"app\"\n[workspace] # the root\n\
             [workspace.dependencies]\nd = { path = '../d' }\n\
             [dependencies]\na = { path = '../a' }\nd.workspace = true\n\
             # c = { path = \"../c\" }\n\
             [dependencies.b]\npath = \"../b\"\n\
             [dev-dependencies]\nc = { path = \"../c\" }\n\
             [target.'cfg(unix)'.dependencies]\ne = { path = \"../e\" }\n",
        );
        write("a", "[package]\nname = \"a-crate\"\n[dependencies]\nf = { path = \"../f\" }\n");
        write("b", "[package]\nname = \"b\"\n[lib]\nname = \"bee\"\n");
        write("c", "[package]\nname = \"c\"\n");
        write("d", "[package]\nname = \"d\"\n");
        write("e", "[package]\nname = \"e\"\n");
        write("f", "[package]\nname = \"f\"\n");
        let mut crates = BTreeSet::new();
        path_crates(&root.join("app"), &mut BTreeSet::new(), &mut crates);
        let _ = fs::remove_dir_all(&root);
        let crates: Vec<&str> = crates.iter().map(String::as_str).collect();
        assert_eq!(crates, ["a_crate", "bee", "d", "e", "f"]);
    }
}
