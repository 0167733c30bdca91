//! `__crate_graph!(NAME in "section")`: the graph of `dsu::patch!()`, a static in a section of
//! its own that the runtime reads from a patch's file before loading it, and from the program's
//! `ProgramInfo` (`dsu-rt`'s `reach.rs`).
//!
//! It has every function, method, `const`, `static` and macro of the crate (plain ones
//! included), the fingerprint of each, and the items each one's code calls or names, found by
//! walking the crate's sources from its root (`sources.rs`); the package's binaries are walked
//! too, as code no update replaces. The compiler decides the `cfg`s: each item under one carries
//! a byte that `cfg!` of its predicates sets, so that an item the build leaves out is not in
//! the graph.
//!
//! The text, a line per item:
//!
//! ```text
//! dsu-graph 1
//! <present 1|0> \t <kind> \t <flags: u updateable, p public, or -> \t <path> \t <fingerprint, 32 hex> \t <edges: indices,> \t <root> \t <file>
//! ```
//!
//! A crate whose root cannot be found (a doctest, a build without cargo) gets the header
//! `dsu-graph 1 none`: the runtime then cannot tell what a patch's changes reach.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use proc_macro2::TokenStream;
use quote::quote;
use toml::{Table, Value};

use crate::lock_record::Static;
use crate::sources::{Crate, Kind, Ref};

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let Static { name, section } = syn::parse2(input)?;
    let walked = walk();
    // A walk that missed a file says the crate has no graph: the update then cannot tell
    // what changes reach, instead of missing them.
    let (text, conditional) = match &walked {
        Some(walked) if walked.krate.incomplete.is_none() => encode(walked),
        _ => ("dsu-graph 1 none\n".to_owned(), Vec::new()),
    };
    // The binaries are not modules of the library: `include_bytes!` makes the library depend
    // on them, so that an edited binary rebuilds the graph. (The compiler tracks the modules and
    // included files itself.)
    let track = walked.iter().flat_map(|walked| &walked.binaries).filter_map(|file| {
        let file = file.to_str()?;
        Some(quote!(
            const _: &[u8] = ::core::include_bytes!(#file);
        ))
    });
    let bytes = proc_macro2::Literal::byte_string(text.as_bytes());
    let presence = conditional.iter().map(|(offset, cfg)| {
        quote!(bytes[#offset] = if ::core::cfg!(all(#(#cfg),*)) { b'1' } else { b'0' };)
    });
    // SAFETY (of `link_section`): the section is one of dsu's own `.dsu.*`, plain bytes that no
    // linker or loader gives a meaning to.
    Ok(quote! {
        #(#track)*
        #[doc(hidden)]
        #[used]
        #[unsafe(link_section = #section)]
        static #name: [u8; #bytes.len()] = {
            let mut bytes = *#bytes;
            #(#presence)*
            bytes
        };
    })
}

/// The crate's walk, and the binaries it read.
struct Walked {
    krate: Crate,
    binaries: Vec<PathBuf>,
}

/// Walks the library being compiled and the package's binaries, or `None` if what is being
/// compiled is not the package's library found from its manifest.
fn walk() -> Option<Walked> {
    let package = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let crate_name = std::env::var("CARGO_CRATE_NAME").ok()?;
    if std::env::var_os("UNSTABLE_RUSTDOC_TEST_PATH").is_some() {
        return None;
    }
    let crate::package::Library { manifest, name, root } =
        crate::package::library(&package).ok()?;
    if name != crate_name {
        return None;
    }
    let mut krate = Crate::default();
    krate.walk_root(&package, &root, &crate_name, false);
    let binaries = binaries(&package, &manifest);
    for binary in &binaries {
        // A binary names the library by its crate name, and its own items by another.
        krate.walk_root(&package, binary, "{binary}", true);
    }
    Some(Walked { krate, binaries })
}

/// The source files of the package's binaries: `[[bin]]` targets, and those cargo finds
/// unless `autobins = false` (`src/main.rs`, `src/bin/*.rs`, `src/bin/*/main.rs`).
fn binaries(package: &Path, manifest: &Table) -> Vec<PathBuf> {
    let mut found = BTreeSet::new();
    let targets = manifest.get("bin").and_then(Value::as_array).into_iter().flatten();
    for target in targets {
        match (
            target.get("path").and_then(Value::as_str),
            target.get("name").and_then(Value::as_str),
        ) {
            (Some(path), _) => {
                found.insert(package.join(path));
            }
            (None, Some(name)) => {
                for candidate in [
                    package.join(format!("src/bin/{name}.rs")),
                    package.join(format!("src/bin/{name}/main.rs")),
                    package.join("src/main.rs"),
                ] {
                    if candidate.is_file() {
                        found.insert(candidate);
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    let automatic = manifest
        .get("package")
        .and_then(|p| p.get("autobins"))
        .and_then(Value::as_bool)
        .unwrap_or(true);
    if automatic {
        found.insert(package.join("src/main.rs"));
        if let Ok(entries) = fs::read_dir(package.join("src/bin")) {
            for entry in entries.flatten() {
                let path = entry.path();
                match path.is_dir() {
                    true => found.insert(path.join("main.rs")),
                    false => path.extension().is_some_and(|e| e == "rs") && found.insert(path),
                };
            }
        }
    }
    found.into_iter().filter(|file| file.is_file()).collect()
}

/// The graph's text, and the offset of the presence byte of each item under a `cfg`, with its
/// predicates.
fn encode(walked: &Walked) -> (String, Vec<(usize, Vec<TokenStream>)>) {
    let krate = &walked.krate;
    let mut roots: Vec<Option<String>> = krate.nodes.iter().map(|node| node.root.clone()).collect();
    let edges = link(krate, &mut roots);
    let mut text = String::from("dsu-graph 1\n");
    let mut conditional = Vec::new();
    for (index, node) in krate.nodes.iter().enumerate() {
        if !node.cfg.is_empty() {
            conditional.push((text.len(), node.cfg.clone()));
        }
        let edges: Vec<String> = edges[index].iter().map(usize::to_string).collect();
        let flags = match (node.updateable, node.public) {
            (true, true) => "up",
            (true, false) => "u",
            (false, true) => "p",
            (false, false) => "-",
        };
        text.push_str(&format!(
            "1\t{}\t{flags}\t{}\t{:032x}\t{}\t{}\t{}\n",
            node.kind.letter(),
            clean(&node.path),
            node.fingerprint,
            edges.join(","),
            clean(roots[index].as_deref().unwrap_or("")),
            clean(&node.site),
        ));
    }
    (text, conditional)
}

/// The graph's text holds no tabs or line ends inside a field.
fn clean(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}

/// The items each item's names may mean (every item of the name, narrowed by the qualifier
/// where that leaves any), and the roots that follow from them: a function whose address is
/// taken, a trait impl's method of a trait the crate does not define (std or a dependency calls
/// it), and a binary's code.
fn link(krate: &Crate, roots: &mut [Option<String>]) -> Vec<BTreeSet<usize>> {
    let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, node) in krate.nodes.iter().enumerate() {
        by_name.entry(node.name.as_str()).or_default().push(index);
        for defined in &node.defines {
            by_name.entry(defined.as_str()).or_default().push(index);
        }
    }
    // A macro invoked where items go whose expansion has an impl: std or a dependency may call
    // the impl's methods, which the graph does not see.
    let impl_token = Ref::Any("impl".to_owned());
    for (index, node) in krate.nodes.iter().enumerate() {
        let writes_impls = krate.nodes.iter().any(|definition| {
            definition.kind == Kind::Macro
                && definition.name == node.name
                && definition.refs.contains(&impl_token)
        });
        if node.kind == Kind::Invocation && writes_impls && roots[index].is_none() {
            roots[index] =
                Some("impls a macro writes, which std or a dependency may call".to_owned());
        }
    }
    for (index, node) in krate.nodes.iter().enumerate() {
        let Some(trait_name) = node.trait_name.as_deref() else { continue };
        let foreign = node.trait_foreign || !krate.traits.contains(trait_name);
        if node.kind != Kind::Method || roots[index].is_some() {
            continue;
        }
        if foreign {
            roots[index] = Some(format!("called through `{trait_name}` by std or a dependency"));
        } else if krate.dyn_traits.contains(trait_name) {
            // A `dyn` value made before the update calls through the old version's vtable.
            roots[index] = Some(format!("called through `dyn {trait_name}`"));
        }
    }
    let named = |name: &str| -> Vec<usize> {
        let mut names = vec![name.to_owned()];
        names.extend(krate.renames.get(name).into_iter().flatten().cloned());
        names
            .iter()
            .flat_map(|name| by_name.get(name.as_str()).into_iter().flatten().copied())
            .collect()
    };
    let mut edges = vec![BTreeSet::new(); krate.nodes.len()];
    let mut taken = Vec::new();
    for (index, node) in krate.nodes.iter().enumerate() {
        for reference in &node.refs {
            let (name, qualifier, kinds): (&str, Option<&String>, &[Kind]) = match reference {
                Ref::Call { name, qualifier } | Ref::Value { name, qualifier } => (
                    name,
                    qualifier.as_ref(),
                    &[
                        Kind::Fn,
                        Kind::Method,
                        Kind::Const,
                        Kind::Static,
                        Kind::State,
                        Kind::Global,
                        Kind::Invocation,
                    ],
                ),
                Ref::Method(name) => (name, None, &[Kind::Method, Kind::Invocation]),
                Ref::Macro(name) => (name, None, &[Kind::Macro, Kind::Invocation]),
                Ref::Any(name) => (name, None, &[]),
            };
            let candidates: Vec<usize> = named(name)
                .into_iter()
                .filter(|&target| target != index)
                .filter(|&target| kinds.is_empty() || kinds.contains(&krate.nodes[target].kind))
                .filter(|&target| krate.nodes[target].kind != Kind::Escape)
                .collect();
            let narrowed: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&target| {
                    let target = &krate.nodes[target];
                    qualifier.is_some()
                        && (target.qualifier.as_ref() == qualifier
                            || target.trait_name.as_ref() == qualifier)
                })
                .collect();
            let targets = if narrowed.is_empty() { candidates } else { narrowed };
            if matches!(reference, Ref::Value { .. }) {
                let functions = targets
                    .iter()
                    .filter(|&&t| matches!(krate.nodes[t].kind, Kind::Fn | Kind::Method));
                taken.extend(functions.map(|&target| (target, index)));
            }
            edges[index].extend(targets);
        }
    }
    for (target, by) in taken {
        if roots[target].is_none() {
            roots[target] = Some(format!("its address is taken in `{}`", krate.nodes[by].path));
        }
    }
    edges
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The graph of a crate whose root is `lib` (and other files of `files`), as lines without
    /// the fingerprints.
    fn graph(files: &[(&str, &str)]) -> (Crate, Vec<String>) {
        let dir = std::env::temp_dir().join(format!(
            "dsu-graph-{}-{:x}",
            std::process::id(),
            crate::hash::of_bytes(format!("{files:?}").as_bytes())
        ));
        for (name, text) in files {
            let path = dir.join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        let mut krate = Crate::default();
        krate.walk_root(&dir, &dir.join("src/lib.rs"), "app", false);
        if dir.join("src/main.rs").is_file() {
            krate.walk_root(&dir, &dir.join("src/main.rs"), "{binary}", true);
        }
        let walked = Walked { krate, binaries: Vec::new() };
        let (text, _) = encode(&walked);
        let _ = fs::remove_dir_all(&dir);
        let lines = text
            .lines()
            .skip(1)
            .map(|line| {
                let fields: Vec<&str> = line.split('\t').collect();
                let edges: Vec<&str> = fields[5]
                    .split(',')
                    .filter(|e| !e.is_empty())
                    .map(|e| walked.krate.nodes[e.parse::<usize>().unwrap()].path.as_str())
                    .collect();
                format!(
                    "{} {} {} -> [{}] {}",
                    fields[1],
                    fields[2],
                    fields[3],
                    edges.join(" "),
                    fields[6]
                )
                .trim_end()
                .to_owned()
            })
            .collect();
        (walked.krate, lines)
    }

    fn line<'a>(lines: &'a [String], path: &str) -> &'a str {
        lines
            .iter()
            .find(|line| {
                line.splitn(3, ' ')
                    .nth(2)
                    .is_some_and(|rest| rest.starts_with(&format!("{path} ->")))
            })
            .unwrap_or_else(|| panic!("no item {path} in {lines:#?}"))
    }

    #[test]
    fn calls_methods_consts_and_macros_are_edges() {
        let (_, lines) = graph(&[(
            "src/lib.rs",
            "const LIMIT: u32 = 3;\n\
             macro_rules! twice { ($e:expr) => { helper($e) + helper($e) } }\n\
             fn helper(x: u32) -> u32 { x.min(LIMIT) }\n\
             pub struct Entry;\n\
             impl Entry { fn size(&self) -> u32 { twice!(1) } }\n\
             #[dsu::updateable]\n\
             pub fn handle(e: &Entry) -> u32 { e.size() + Entry::size(e) }\n",
        )]);
        assert_eq!(line(&lines, "app::handle"), "f up app::handle -> [app::Entry::size]");
        assert_eq!(line(&lines, "app::Entry::size"), "m - app::Entry::size -> [app::twice!]");
        assert_eq!(line(&lines, "app::twice!"), "M - app::twice! -> [app::helper]");
        assert_eq!(line(&lines, "app::helper"), "f - app::helper -> [app::LIMIT]");
    }

    #[test]
    fn trait_impls_of_foreign_traits_and_taken_addresses_are_roots() {
        let (_, lines) = graph(&[(
            "src/lib.rs",
            "pub struct Entry;\n\
             trait Own { fn own(&self); }\n\
             impl Own for Entry { fn own(&self) {} }\n\
             impl std::fmt::Display for Entry {\n\
                 fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { Ok(()) }\n\
             }\n\
             fn worker() {}\n\
             fn start() { std::thread::spawn(worker); }\n\
             fn count() -> u32 { 1 }\n\
             fn twice(count: u32) -> u32 { let doubled = count * 2; doubled }\n",
        )]);
        assert_eq!(
            line(&lines, "<app::Entry as Display>::fmt"),
            "m p <app::Entry as Display>::fmt -> [] called through `Display` by std or a dependency"
        );
        assert_eq!(line(&lines, "<app::Entry as Own>::own"), "m p <app::Entry as Own>::own -> []");
        assert_eq!(
            line(&lines, "app::worker"),
            "f - app::worker -> [] its address is taken in `app::start`"
        );
        assert_eq!(line(&lines, "app::count"), "f - app::count -> []", "a variable of its name");
    }

    #[test]
    fn a_closure_that_may_be_stored_is_a_root_and_one_run_now_is_not() {
        let (_, lines) = graph(&[(
            "src/lib.rs",
            "fn helper() -> u32 { 1 }\n\
             fn other() -> u32 { 2 }\n\
             pub fn now() -> u32 { [1].iter().map(|_| helper()).sum() }\n\
             pub fn later() { std::thread::spawn(move || other()); }\n",
        )]);
        assert_eq!(line(&lines, "app::now"), "f p app::now -> [app::helper]");
        assert_eq!(line(&lines, "app::later"), "f p app::later -> [app::other]");
        assert_eq!(
            line(&lines, "app::later::{a closure that may be stored#0}"),
            "x - app::later::{a closure that may be stored#0} -> [app::other] \
             a closure that may be stored in `app::later`"
        );
    }

    #[test]
    fn modules_statics_and_the_binary_are_walked() {
        let (krate, lines) = graph(&[
            (
                "src/lib.rs",
                "pub mod store;\n\
                 #[cfg(test)] mod tests { fn t() {} }\n\
                 pub static GREETING: &str = \"hi\";\n\
                 pub static HITS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);\n\
                 thread_local! { static LOCAL: std::cell::Cell<u32> = const { std::cell::Cell::new(0) }; }\n",
            ),
            ("src/store.rs", "use crate::GREETING as G;\npub fn get() -> &'static str { G }\n"),
            ("src/main.rs", "fn main() { app::store::get(); }\n"),
        ]);
        assert_eq!(line(&lines, "app::GREETING"), "s p app::GREETING -> []");
        assert_eq!(line(&lines, "app::HITS"), "S p app::HITS -> []");
        assert_eq!(line(&lines, "app::LOCAL"), "S - app::LOCAL -> []");
        assert_eq!(line(&lines, "app::store::get"), "f p app::store::get -> [app::GREETING]");
        assert_eq!(
            line(&lines, "{binary}::main"),
            "f - {binary}::main -> [app::store::get] the program's binary"
        );
        let tests = krate.nodes.iter().find(|node| node.path == "app::tests::t").expect("walked");
        assert_eq!(tests.cfg.len(), 1, "under cfg(test)");
    }

    /// The fingerprint of `path` in the crate whose root is `lib`.
    fn fingerprint_of(lib: &str, path: &str) -> u128 {
        let (krate, _) = graph(&[("src/lib.rs", lib)]);
        krate.nodes.iter().find(|node| node.path == path).expect("walked").fingerprint
    }

    #[test]
    fn an_item_changes_with_the_imports_and_aliases_it_names_and_its_attributes() {
        let with = |import: &str| format!("{import}\npub fn run() -> u32 {{ compute() }}\n");
        let (fast, slow) = (with("use crate::fast::compute;"), with("use crate::slow::compute;"));
        assert_ne!(fingerprint_of(&fast, "app::run"), fingerprint_of(&slow, "app::run"));
        let other = with("use crate::fast::compute;\nuse std::fmt;");
        assert_eq!(fingerprint_of(&fast, "app::run"), fingerprint_of(&other, "app::run"));
        let aliased =
            |to: &str| format!("type Backend = {to};\npub fn make() -> Backend {{ todo!() }}\n");
        assert_ne!(
            fingerprint_of(&aliased("Redis"), "app::make"),
            fingerprint_of(&aliased("Memory"), "app::make")
        );
        let level = |level: &str| format!("#[instrument(level = \"{level}\")]\npub fn f() {{}}\n");
        assert_ne!(
            fingerprint_of(&level("debug"), "app::f"),
            fingerprint_of(&level("info"), "app::f")
        );
        let doc = |text: &str| format!("/// {text}\npub fn f() {{}}\n");
        assert_eq!(fingerprint_of(&doc("a"), "app::f"), fingerprint_of(&doc("b"), "app::f"));
    }

    #[test]
    fn what_the_parse_cannot_follow_is_a_root() {
        let (_, lines) = graph(&[(
            "src/lib.rs",
            "fn tick() {}\n\
             pub fn start() { spawn(async move { loop { tick() } }); }\n\
             pub async fn awaited() { async { tick() }.await }\n\
             pub trait Handler { fn handle(&self); }\n\
             pub struct H;\n\
             impl Handler for H { fn handle(&self) {} }\n\
             pub static HANDLERS: std::sync::Mutex<Vec<Box<dyn Handler + Send>>> = std::sync::Mutex::new(Vec::new());\n\
             macro_rules! display { ($t:ident) => { impl std::fmt::Display for $t { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { Ok(()) } } } }\n\
             display!(H);\n\
             impl std::error::Error for H {}\n\
             pub trait Error { fn own(&self) {} }\n",
        )]);
        assert!(
            lines.iter().any(|l| l.starts_with("x - app::start::{an async block")),
            "{lines:#?}"
        );
        assert_eq!(line(&lines, "app::awaited"), "f p app::awaited -> [app::tick]");
        assert_eq!(
            line(&lines, "<app::H as Handler>::handle"),
            "m p <app::H as Handler>::handle -> [] called through `dyn Handler`"
        );
        assert!(line(&lines, "app::display!#8")
            .ends_with("impls a macro writes, which std or a dependency may call"));
    }

    #[test]
    fn format_captures_trait_paths_and_trait_consts_are_edges() {
        let (_, lines) = graph(&[(
            "src/lib.rs",
            "const GREETING: &str = \"hi\";\n\
             pub fn greet() -> String { format!(\"{GREETING}, {{braces}} {0}\", 1) }\n\
             pub trait Codec { const MAX: usize = 10; fn encode(&self) -> u32 { 0 } }\n\
             pub struct Json;\n\
             fn helper() -> u32 { 1 }\n\
             impl Codec for Json { fn encode(&self) -> u32 { helper() } }\n\
             pub fn handle(j: &Json) -> u32 { Codec::encode(j) + Json::MAX as u32 }\n\
             pub fn count() -> u32 { thread_local! { static N: std::cell::Cell<u32> = const { std::cell::Cell::new(0) }; } 0 }\n",
        )]);
        assert_eq!(line(&lines, "app::greet"), "f p app::greet -> [app::GREETING]");
        assert_eq!(
            line(&lines, "app::handle"),
            "f p app::handle -> [app::Codec::MAX app::Codec::encode <app::Json as Codec>::encode]"
        );
        assert_eq!(line(&lines, "app::count"), "f p app::count -> [app::count::N]");
        assert_eq!(line(&lines, "app::count::N"), "S - app::count::N -> []");
    }

    #[test]
    fn modules_are_found_where_rustc_finds_them_or_the_graph_is_none() {
        let (krate, lines) = graph(&[
            (
                "src/lib.rs",
                "mod outer { #[path = \"x.rs\"] mod x; }\n#[path = \"imp/a.rs\"] mod a;\n",
            ),
            ("src/outer/x.rs", "pub fn in_x() {}\n"),
            ("src/imp/a.rs", "mod b;\n"),
            ("src/imp/b.rs", "pub fn in_b() {}\n"),
        ]);
        assert!(krate.incomplete.is_none(), "{:?}", krate.incomplete);
        line(&lines, "app::outer::x::in_x");
        line(&lines, "app::a::b::in_b");
        let (krate, _) = graph(&[("src/lib.rs", "mod missing;\n#[cfg(windows)] mod other;\n")]);
        assert!(krate.incomplete.as_deref().is_some_and(|why| why.contains("app::missing")));
        let (krate, _) = graph(&[("src/lib.rs", "mod broken;\n"), ("src/broken.rs", "fn (\n")]);
        assert!(krate.incomplete.as_deref().is_some_and(|why| why.contains("src/broken.rs")));
        // A file that is its own module: walked once, and the graph is none.
        let (krate, _) = graph(&[("src/lib.rs", "#[path = \"lib.rs\"] mod again;\n")]);
        assert!(krate.incomplete.as_deref().is_some_and(|why| why.contains("module of itself")));
    }

    #[test]
    fn included_files_and_environment_variables_are_fingerprinted() {
        let fingerprint = |banner: &str| {
            let (krate, _) = graph(&[
                (
                    "src/lib.rs",
                    "pub fn banner() -> &'static str { include_str!(\"banner.txt\") }\n",
                ),
                ("src/banner.txt", banner),
            ]);
            krate.nodes.iter().find(|node| node.path == "app::banner").unwrap().fingerprint
        };
        assert_ne!(fingerprint("hello"), fingerprint("hello again"));
        assert_eq!(fingerprint("hello"), fingerprint("hello"));
    }
}
