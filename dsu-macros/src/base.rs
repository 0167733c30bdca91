//! `dsu::base!(v1 = "../../app-1.1.0")`: the running release's types, read from its sources,
//! for a release that converts a global to name the old types with, instead of copies by hand.
//!
//! The path is the running release's package directory (a checkout of its tag), relative to
//! the file the macro is written in, as `include_str!`'s are. Written at the crate's root, the
//! macro expands to
//!
//! ```text
//! mod v1 {
//!     // Every struct, enum, union, type alias and constant `const` of the running release's
//!     // library, in its modules, all `pub`; the `use` items its types need; `cfg`, `repr` and a
//!     // `Fingerprint` derive where it had one (or was updateable), no other derive; `crate::`
//!     // written relative to `v1`.
//! }
//! // For each type written alike in both releases that a global's conversion needs, the
//! // conversion `was` would derive:
//! const _: () = { impl Transform<v1::Kind> for Kind { .. } };
//! ```
//!
//! It reads the new release's sources too, from the file it is written in, to compare the two:
//! a global whose type changed without `was`, or whose conversion needs a changed type that
//! nothing converts, is a compile error that shows the two definitions, one above the other.
//! The comparison is of the definitions' text; the runtime still compares the fingerprints.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use proc_macro2::{Group, TokenStream, TokenTree};
use quote::{format_ident, quote, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{Fields, Item, LitStr, Token, Visibility};

use crate::args::Attribute as Args;
use crate::signature::tidy;

/// `v1 = "dir"`, and `crate = path`.
struct Input {
    name: syn::Ident,
    dir: LitStr,
    krate: syn::Path,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Input> {
        let name = input.parse()?;
        input.parse::<Token![=]>()?;
        let dir = input.parse()?;
        let mut krate = None;
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            if !input.peek(Token![crate]) {
                return Err(input.error("unknown argument; the only one besides is `crate = path`"));
            }
            input.parse::<Token![crate]>()?;
            input.parse::<Token![=]>()?;
            krate = Some(input.parse()?);
        }
        Ok(Input { name, dir, krate: krate.unwrap_or_else(crate::krate::default) })
    }
}

/// `file` is the file the macro is written in, if the compiler says.
pub(crate) fn expand(input: TokenStream, file: Option<PathBuf>) -> syn::Result<TokenStream> {
    let (tokens, errors) = generate(input, file)?;
    // The copy goes out beside the errors, so that they are the only ones: every `v1::` of the
    // crate still names something.
    let errors = errors.map(|error| error.to_compile_error());
    Ok(quote!(#tokens #errors))
}

/// The copy, with the conversions it derives, and the errors of the comparison.
fn generate(
    input: TokenStream,
    file: Option<PathBuf>,
) -> syn::Result<(TokenStream, Option<syn::Error>)> {
    let Input { name, dir, krate } = syn::parse2(input).map_err(|error| {
        syn::Error::new(
            error.span(),
            format!(
                "{error}: write `dsu::base!(v1 = \"../../app-1.1.0\")`, the module to write and \
                 the running release's package directory, relative to this file"
            ),
        )
    })?;
    // The compiler may name the file relative to the directory it runs in.
    let file = file.map(|file| fs::canonicalize(&file).unwrap_or(file));
    let here = file.as_deref().and_then(Path::parent).map(Path::to_owned);
    let here = here.or_else(|| std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from));
    let package = here.unwrap_or_default().join(dir.value());
    let fail = |why: String| {
        syn::Error::new(
            dir.span(),
            format!(
                "cannot read the running release's sources at `{}`: {why}. dsu::base! names the \
                 directory of its package (a checkout of its tag), relative to this file",
                dir.value()
            ),
        )
    };
    let library = crate::package::library(&package).map_err(fail)?;
    let mut reader =
        Reader { package: &package, files: vec![package.join("Cargo.toml")], open: Vec::new() };
    let root = reader.read(&library.root).map_err(fail)?;
    let old = Crate::of(&root);
    // The new release, from the file the macro is in: its own crate root.
    let new_root = file.as_deref().and_then(|file| {
        let dir = match file.file_name().and_then(|name| name.to_str()) {
            Some("lib.rs" | "main.rs" | "mod.rs") => file.parent()?.to_owned(),
            _ if Some(file) == library_root().as_deref() => file.parent()?.to_owned(),
            _ => file.with_extension(""),
        };
        // Sites are relative to the package the file is in.
        let package = file.ancestors().skip(1).find(|dir| dir.join("Cargo.toml").is_file());
        let mut reader =
            Reader { package: package.or(file.parent())?, files: Vec::new(), open: Vec::new() };
        reader.read_in(file, &dir).ok()
    });
    let mut errors = Vec::new();
    if let Some(mismatch) = new_root.as_ref().and_then(|root| release_mismatch(root, &library)) {
        errors.push(syn::Error::new(dir.span(), mismatch));
    }
    let copy = copy(&root, 0, &old, &[], &krate);
    let mut conversions = TokenStream::new();
    if let Some(new_root) = &new_root {
        let new = Crate::of(new_root);
        let compare = Compare::new(&old, &new, &name, &krate);
        let (forgotten, needed) = compare.check();
        conversions = needed;
        errors.extend(forgotten.into_iter().map(|e| syn::Error::new(name.span(), e)));
    }
    let errors = errors.into_iter().reduce(|mut all, error| {
        all.combine(error);
        all
    });
    // Each file read is tracked: a base checked out at another release rebuilds the crate.
    let track = reader.files.iter().filter_map(|file| {
        let file = fs::canonicalize(file).ok()?;
        let file = file.to_str()?.to_owned();
        Some(quote!(
            const _: &[u8] = ::core::include_bytes!(#file);
        ))
    });
    let conversions = (!conversions.is_empty()).then(|| {
        let alias = crate::krate::alias(&krate);
        quote!(const _: () = { #alias #conversions };)
    });
    Ok((
        quote! {
            #[allow(
                dead_code,
                unused_imports,
                unreachable_pub,
                non_camel_case_types,
                unexpected_cfgs,
                clippy::all
            )]
            mod #name {
                #copy
            }
            #conversions
            #(#track)*
        },
        errors,
    ))
}

/// The root file of the library cargo is compiling, if it is one.
fn library_root() -> Option<PathBuf> {
    let package = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let root = crate::package::library(&package).ok()?.root;
    fs::canonicalize(root).ok()
}

/// `base = ".."` of the new release's `dsu::patch!()`, if it names another release than the
/// package's version in the sources read.
fn release_mismatch(root: &Module, library: &crate::package::Library) -> Option<String> {
    let version = library.manifest.get("package")?.get("version")?.as_str()?;
    let declared = root.items.iter().find_map(|item| match item {
        Item::Macro(call) if call.mac.path.segments.last()?.ident == "patch" => {
            let tokens: Vec<TokenTree> = call.mac.tokens.clone().into_iter().collect();
            tokens.windows(3).find_map(|window| match window {
                [TokenTree::Ident(key), TokenTree::Punct(eq), TokenTree::Literal(value)]
                    if key == "base" && eq.as_char() == '=' =>
                {
                    syn::parse_str::<LitStr>(&value.to_string()).ok().map(|lit| lit.value())
                }
                _ => None,
            })
        }
        _ => None,
    })?;
    (declared != version).then(|| {
        format!(
            "the sources dsu::base! reads are of release {version}, but `dsu::patch!` declares \
             this release built on {declared}: check out the running release"
        )
    })
}

/// A module of a crate: its items, its modules, and the file they are in.
struct Module {
    name: String,
    /// The `#[cfg]`s of its `mod` item.
    cfg: Vec<syn::Attribute>,
    vis: Visibility,
    items: Vec<Item>,
    children: Vec<Module>,
    /// The file, relative to the package, for messages.
    file: String,
}

/// Reads a crate's modules from its files, as rustc finds them.
struct Reader<'a> {
    package: &'a Path,
    /// Every file read.
    files: Vec<PathBuf>,
    /// The files of the modules being read, outermost first: a file that is its own module
    /// again would be read forever.
    open: Vec<PathBuf>,
}

impl Reader<'_> {
    /// The crate whose root file is `root`.
    fn read(&mut self, root: &Path) -> Result<Module, String> {
        let dir = root.parent().unwrap_or(self.package).to_owned();
        self.read_in(root, &dir)
    }

    /// The module of `file`, whose modules are in `dir`.
    fn read_in(&mut self, file: &Path, dir: &Path) -> Result<Module, String> {
        let site = file.strip_prefix(self.package).unwrap_or(file).display().to_string();
        let text = fs::read_to_string(file)
            .map_err(|error| format!("`{site}` cannot be read ({error})"))?;
        self.files.push(file.to_owned());
        let parsed = syn::parse_file(&text)
            .map_err(|error| format!("`{site}` cannot be parsed ({error})"))?;
        let canonical = fs::canonicalize(file).unwrap_or_else(|_| file.to_owned());
        if self.open.contains(&canonical) {
            return Err(format!("`{site}` is a module of itself"));
        }
        let cfg = parsed
            .attrs
            .iter()
            .filter(|attr| attr.path().is_ident("cfg"))
            .map(|attr| syn::Attribute { style: syn::AttrStyle::Outer, ..attr.clone() })
            .collect();
        let header = Module {
            name: String::new(),
            cfg,
            vis: Visibility::Inherited,
            items: Vec::new(),
            children: Vec::new(),
            file: site,
        };
        self.open.push(canonical);
        let module = self.items(header, parsed.items, dir, file, false);
        self.open.pop();
        module
    }

    fn items(
        &mut self,
        mut module: Module,
        items: Vec<Item>,
        dir: &Path,
        file: &Path,
        inline: bool,
    ) -> Result<Module, String> {
        for item in items {
            let Item::Mod(declaration) = item else {
                module.items.push(item);
                continue;
            };
            let name = declaration.ident.to_string();
            let explicit = declaration.attrs.iter().find_map(crate::sources::path_attribute);
            let cfg: Vec<syn::Attribute> = declaration
                .attrs
                .iter()
                .filter(|attr| attr.path().is_ident("cfg"))
                .cloned()
                .collect();
            match declaration.content {
                Some((_, inner)) => {
                    let dir = dir.join(explicit.as_deref().unwrap_or(&name));
                    let header = Module {
                        name,
                        cfg,
                        vis: declaration.vis,
                        items: Vec::new(),
                        children: Vec::new(),
                        file: module.file.clone(),
                    };
                    let child = self.items(header, inner, &dir, file, true)?;
                    module.children.push(child);
                }
                None => {
                    let file_dir = file.parent().unwrap_or(dir);
                    let found = crate::sources::module_file(
                        dir,
                        file_dir,
                        inline,
                        &name,
                        explicit.as_deref(),
                    );
                    match found {
                        Some((file, dir)) => {
                            let mut child = self.read_in(&file, &dir)?;
                            child.name = name;
                            child.vis = declaration.vis;
                            // The `mod` item's `cfg`s, then the file's own `#![cfg]`s.
                            child.cfg.splice(0..0, cfg);
                            module.children.push(child);
                        }
                        // A module the build leaves out.
                        None if !cfg.is_empty() => {}
                        None => {
                            return Err(format!(
                                "the file of `mod {name};` in `{}` is missing",
                                module.file
                            ))
                        }
                    }
                }
            }
        }
        Ok(module)
    }
}

/// Whether code at the crate's root can name an item of this visibility in a module below.
fn visible(vis: &Visibility) -> bool {
    match vis {
        Visibility::Public(_) => true,
        Visibility::Restricted(restricted) => restricted.path.is_ident("crate"),
        Visibility::Inherited => false,
    }
}

/// A type's definition in a crate.
struct Def<'a> {
    /// Its module's path, from the root.
    module: Vec<String>,
    item: &'a Item,
    /// The file it is in.
    file: &'a str,
    /// Whether the root can name it, and the fields of a struct.
    nameable: bool,
}

impl Def<'_> {
    /// Its path from the root.
    fn path(&self) -> Vec<String> {
        let name = match self.item {
            Item::Struct(item) => &item.ident,
            Item::Enum(item) => &item.ident,
            Item::Type(item) => &item.ident,
            Item::Union(item) => &item.ident,
            _ => return self.module.clone(),
        };
        [&self.module[..], &[name.to_string()]].concat()
    }
}

/// The attributes of a definition's fields and variants.
fn field_attrs(item: &Item) -> Box<dyn Iterator<Item = &syn::Attribute> + '_> {
    match item {
        Item::Struct(item) => Box::new(item.fields.iter().flat_map(|f| &f.attrs)),
        Item::Enum(item) => Box::new(
            item.variants
                .iter()
                .flat_map(|v| v.attrs.iter().chain(v.fields.iter().flat_map(|f| &f.attrs))),
        ),
        _ => Box::new(std::iter::empty()),
    }
}

/// An updateable global.
struct Global<'a> {
    module: Vec<String>,
    item: &'a syn::ItemStatic,
    was: Option<syn::Type>,
}

/// What a module's `use` items bind: names to the paths as written, and the glob imports.
type Uses = (BTreeMap<String, Vec<String>>, Vec<Vec<String>>);

/// The `use` items of `items`, read once per module.
fn uses_of(items: &[Item]) -> Uses {
    let mut named = BTreeMap::new();
    let mut globs = Vec::new();
    for item in items {
        if let Item::Use(declaration) = item {
            if declaration.leading_colon.is_none() {
                use_leaves(&declaration.tree, &mut Vec::new(), &mut |bound, path| match bound {
                    Some(bound) => {
                        named.insert(bound, path);
                    }
                    None => globs.push(path),
                });
            }
        }
    }
    (named, globs)
}

/// What the comparison reads of a crate.
#[derive(Default)]
struct Crate<'a> {
    /// Structs, enums and type aliases by path (several where `cfg`s choose one).
    defs: BTreeMap<Vec<String>, Vec<Def<'a>>>,
    modules: BTreeMap<Vec<String>, &'a Module>,
    /// Each module's `use` items.
    uses: BTreeMap<Vec<String>, Uses>,
    /// Literal `const`s, which the copy has too.
    values: BTreeSet<Vec<String>>,
    globals: Vec<Global<'a>>,
    /// The names of the types a `#[dsu::transform]` function or a `Transform` impl makes: by
    /// name, since a name the parse cannot resolve (through a glob of another crate, a macro)
    /// must not get a second conversion, nor an error.
    converted_names: BTreeSet<String>,
    /// Types whose `#[dsu::updateable(was = ..)]` derives their conversion.
    derived: BTreeSet<Vec<String>>,
}

impl<'a> Crate<'a> {
    fn of(root: &'a Module) -> Crate<'a> {
        let mut krate = Crate::default();
        krate.index(root, Vec::new(), true);
        krate
    }

    fn index(&mut self, module: &'a Module, path: Vec<String>, nameable: bool) {
        self.modules.insert(path.clone(), module);
        self.uses.insert(path.clone(), uses_of(&module.items));
        let below = !path.is_empty();
        // The module's constants made of literals and of each other.
        let mut consts = BTreeSet::new();
        loop {
            let before = consts.len();
            for item in &module.items {
                if let Item::Const(c) = item {
                    if constant(&c.expr, &consts) {
                        consts.insert(c.ident.to_string());
                    }
                }
            }
            if consts.len() == before {
                break;
            }
        }
        for name in &consts {
            self.values.insert([&path[..], std::slice::from_ref(name)].concat());
        }
        for item in &module.items {
            self.conversions(&path, item);
            let mut key = path.clone();
            let (name, vis, fields) = match item {
                Item::Struct(s) => (&s.ident, &s.vis, Some(&s.fields)),
                Item::Enum(e) => (&e.ident, &e.vis, None),
                Item::Type(t) => (&t.ident, &t.vis, None),
                Item::Static(global) if marked(&global.attrs) => {
                    let was = was(&global.attrs);
                    self.globals.push(Global { module: path.clone(), item: global, was });
                    continue;
                }
                _ => continue,
            };
            let fields_nameable =
                fields.is_none_or(|fields| fields.iter().all(|field| visible(&field.vis)));
            key.push(name.to_string());
            let nameable = nameable && (!below || (visible(vis) && fields_nameable));
            let def = Def { module: path.clone(), item, file: &module.file, nameable };
            self.defs.entry(key).or_default().push(def);
        }
        for child in &module.children {
            let mut inner = path.clone();
            inner.push(child.name.clone());
            self.index(child, inner, nameable && (!below || visible(&child.vis)));
        }
    }

    /// Notes what `item`, in `module`, says of a type's conversion: a `#[dsu::transform]`
    /// function or a `Transform` impl, also inside a block or a function (`const _: () = {..}`),
    /// makes its type; a `was` derives one.
    fn conversions(&mut self, module: &[String], item: &Item) {
        /// The types the transformers and `Transform` impls inside an item make.
        struct Made(Vec<syn::Type>);
        impl<'ast> Visit<'ast> for Made {
            fn visit_item_fn(&mut self, function: &'ast syn::ItemFn) {
                let transform = function.attrs.iter().any(|a| last_is(a.path(), "transform"));
                if let (true, syn::ReturnType::Type(_, ty)) = (transform, &function.sig.output) {
                    self.0.push((**ty).clone());
                }
                syn::visit::visit_item_fn(self, function);
            }
            fn visit_item_impl(&mut self, block: &'ast syn::ItemImpl) {
                if block.trait_.as_ref().is_some_and(|(_, path, _)| last_is(path, "Transform")) {
                    self.0.push((*block.self_ty).clone());
                }
                syn::visit::visit_item_impl(self, block);
            }
        }
        let mut made = Made(Vec::new());
        made.visit_item(item);
        for ty in &made.0 {
            if let syn::Type::Path(path) = ty {
                let last = path.path.segments.last();
                self.converted_names.extend(last.map(|last| last.ident.to_string()));
            }
        }
        match item {
            Item::Struct(syn::ItemStruct { attrs, ident, .. })
            | Item::Enum(syn::ItemEnum { attrs, ident, .. })
                if was(attrs).is_some() =>
            {
                let mut key = module.to_vec();
                key.push(ident.to_string());
                self.derived.insert(key);
            }
            _ => {}
        }
    }

    /// Whether a transformer of the crate's makes the type at `path`.
    fn converted(&self, path: &[String]) -> bool {
        path.last().is_some_and(|name| self.converted_names.contains(name))
    }

    fn known(&self, path: &[String]) -> bool {
        self.defs.contains_key(path)
            || self.modules.contains_key(path)
            || self.values.contains(path)
    }

    /// The path from the root of the crate's own item that `path`, written in `module`,
    /// names, if it names one.
    fn resolve(&self, module: &[String], path: &syn::Path) -> Option<Vec<String>> {
        if path.leading_colon.is_some() {
            return None;
        }
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.resolve_segments(module, &segments)
    }

    /// What `segments`, written in `module`, name: each segment found in the module the one
    /// before names, as a definition or a module of its own, or through its `use` items.
    fn resolve_segments(&self, module: &[String], segments: &[String]) -> Option<Vec<String>> {
        self.resolve_in(module, segments, &mut Vec::new(), 0)
    }

    /// `visiting` holds the names being looked up, outermost first: imports that lead back to
    /// one of them (a glob of a module whose glob leads back) name nothing the walk can tell,
    /// and are not followed again, so a lookup is not exponential in the globs.
    fn resolve_in(
        &self,
        module: &[String],
        segments: &[String],
        visiting: &mut Vec<(Vec<String>, String)>,
        depth: usize,
    ) -> Option<Vec<String>> {
        if depth > 16 {
            return None;
        }
        let mut rest = segments;
        let mut at = match rest.first()?.as_str() {
            "crate" => {
                rest = &rest[1..];
                Vec::new()
            }
            "self" => {
                rest = &rest[1..];
                module.to_vec()
            }
            "super" => module.to_vec(),
            first => {
                rest = &rest[1..];
                self.lookup_in(module, first, visiting, depth)?
            }
        };
        while rest.first().is_some_and(|s| s == "super") {
            at.pop()?;
            rest = &rest[1..];
        }
        for segment in rest {
            at = self.lookup_in(&at, segment, visiting, depth)?;
        }
        Some(at)
    }

    /// What `name` names in `module`: its own item or module, or what a `use` of it binds the
    /// name to, by name or through a glob.
    fn lookup(&self, module: &[String], name: &str) -> Option<Vec<String>> {
        self.lookup_in(module, name, &mut Vec::new(), 0)
    }

    fn lookup_in(
        &self,
        module: &[String],
        name: &str,
        visiting: &mut Vec<(Vec<String>, String)>,
        depth: usize,
    ) -> Option<Vec<String>> {
        let mut here = module.to_vec();
        here.push(name.to_owned());
        if self.known(&here) {
            return Some(here);
        }
        let key = (module.to_vec(), name.to_owned());
        if visiting.contains(&key) {
            return None;
        }
        visiting.push(key);
        let (named, globs) = self.uses(module);
        let found = match named.get(name) {
            Some(target) => self.resolve_in(module, target, visiting, depth + 1),
            None => globs.iter().find_map(|glob| {
                let from = self.resolve_in(module, glob, visiting, depth + 1)?;
                self.lookup_in(&from, name, visiting, depth + 1)
            }),
        };
        visiting.pop();
        found
    }

    /// The names the `use` items of `module` bind, with their paths as written, and the paths
    /// of its glob imports.
    fn uses(&self, module: &[String]) -> &Uses {
        static NONE: std::sync::OnceLock<Uses> = std::sync::OnceLock::new();
        self.uses.get(module).unwrap_or_else(|| NONE.get_or_init(Uses::default))
    }

    /// The one definition of `path`, if it has exactly one.
    fn def(&self, path: &[String]) -> Option<&Def<'a>> {
        match self.defs.get(path).map(Vec::as_slice) {
            Some([def]) => Some(def),
            _ => None,
        }
    }

    /// The crate's own types that a conversion of `ty`, written in `module`, converts.
    fn converted_types(&self, module: &[String], ty: &syn::Type) -> Vec<Vec<String>> {
        self.types_in(module, ty, false)
    }

    /// The crate's own types that `ty`, written in `module`, names.
    fn named(&self, module: &[String], ty: &syn::Type) -> Vec<Vec<String>> {
        self.types_in(module, ty, true)
    }

    fn types_in(&self, module: &[String], ty: &syn::Type, keys: bool) -> Vec<Vec<String>> {
        let mut paths = Paths { paths: Vec::new(), keys };
        paths.visit_type(ty);
        paths.paths.iter().filter_map(|path| self.resolve(module, path)).collect()
    }
}

/// Each leaf of a `use` tree: the name it binds (`None` for a glob), and the path as written.
fn use_leaves(
    tree: &syn::UseTree,
    prefix: &mut Vec<String>,
    out: &mut impl FnMut(Option<String>, Vec<String>),
) {
    match tree {
        syn::UseTree::Path(path) => {
            prefix.push(path.ident.to_string());
            use_leaves(&path.tree, prefix, out);
            prefix.pop();
        }
        // `use a::{self}` binds `a`; `use a::{self as b}`, `b`.
        syn::UseTree::Name(name) if name.ident == "self" => {
            if let Some(last) = prefix.last() {
                out(Some(last.clone()), prefix.clone());
            }
        }
        syn::UseTree::Rename(rename) if rename.ident == "self" => {
            out(Some(rename.rename.to_string()), prefix.clone());
        }
        syn::UseTree::Name(name) => {
            let mut path = prefix.clone();
            path.push(name.ident.to_string());
            out(Some(name.ident.to_string()), path);
        }
        syn::UseTree::Rename(rename) => {
            let mut path = prefix.clone();
            path.push(rename.ident.to_string());
            out(Some(rename.rename.to_string()), path);
        }
        syn::UseTree::Glob(_) => out(None, prefix.clone()),
        syn::UseTree::Group(group) => {
            group.items.iter().for_each(|tree| use_leaves(tree, prefix, out));
        }
    }
}

/// The paths of the types in a type; with `keys` false, not those that a conversion leaves as
/// they are: the keys of maps, the items of sets and hashers.
struct Paths {
    paths: Vec<syn::Path>,
    keys: bool,
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_type_path(&mut self, node: &'ast syn::TypePath) {
        if node.qself.is_some() {
            return syn::visit::visit_type_path(self, node);
        }
        self.paths.push(node.path.clone());
        if self.keys {
            return syn::visit::visit_type_path(self, node);
        }
        let Some(last) = node.path.segments.last() else { return };
        let kept = match last.ident.to_string().as_str() {
            "HashMap" | "BTreeMap" => Some(1),
            "HashSet" | "BTreeSet" => Some(usize::MAX),
            _ => None,
        };
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return };
        for (index, arg) in args.args.iter().enumerate() {
            if let (syn::GenericArgument::Type(ty), true) = (arg, kept.is_none_or(|k| k == index)) {
                self.visit_type(ty);
            }
        }
    }
}

fn last_is(path: &syn::Path, name: &str) -> bool {
    path.segments.last().is_some_and(|segment| segment.ident == name)
}

fn marked(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| last_is(attr.path(), "updateable"))
}

/// The type of `#[updateable(was = ..)]` in `attrs`, if they hold one.
fn was(attrs: &[syn::Attribute]) -> Option<syn::Type> {
    attrs.iter().filter(|attr| last_is(attr.path(), "updateable")).find_map(|attr| {
        let tokens = attr.meta.require_list().ok()?.tokens.clone();
        crate::args::parse(Args::Updateable, tokens).ok()?.was.map(|(_, ty)| ty)
    })
}

/// Whether a `const`'s value is made of literals, operators and the constants `consts` of its
/// module, with no call: the copy has such a `const` (an array length, a discriminant), and no
/// code.
fn constant(expr: &syn::Expr, consts: &BTreeSet<String>) -> bool {
    match expr {
        syn::Expr::Lit(_) => true,
        syn::Expr::Path(path) => {
            path.qself.is_none()
                && path.path.get_ident().is_some_and(|name| consts.contains(&name.to_string()))
        }
        syn::Expr::Unary(unary) => constant(&unary.expr, consts),
        syn::Expr::Binary(binary) => {
            constant(&binary.left, consts) && constant(&binary.right, consts)
        }
        syn::Expr::Paren(paren) => constant(&paren.expr, consts),
        syn::Expr::Group(group) => constant(&group.expr, consts),
        syn::Expr::Cast(cast) => constant(&cast.expr, consts),
        _ => false,
    }
}

/// The attributes of a copied type: its `cfg`s and `repr` (also under `cfg_attr`), and a
/// `Fingerprint` derive, through the crate the macro is given, where the running release derives
/// one or the type is updateable. Other derives are left out: they may need impls of the
/// crate's own, which the copy does not have.
fn type_attributes(attrs: &[syn::Attribute], krate: &syn::Path) -> Vec<syn::Attribute> {
    let mut kept = Vec::new();
    let mut fingerprinted = false;
    for attr in attrs {
        let path = attr.path();
        if path.is_ident("cfg") || path.is_ident("repr") {
            kept.push(attr.clone());
        } else if path.is_ident("cfg_attr") {
            if let Some(repr) = cfg_repr(attr) {
                kept.push(repr);
            }
        } else if path.is_ident("derive") {
            fingerprinted |= attr.to_token_stream().to_string().contains("Fingerprint");
        } else if last_is(path, "updateable") {
            fingerprinted = true;
        }
    }
    if fingerprinted {
        kept.push(syn::parse_quote!(#[derive(#krate::Fingerprint)]));
        kept.push(syn::parse_quote!(#[dsu(crate = #krate)]));
    }
    kept
}

/// `#[cfg_attr(predicate, repr(..))]` of a `cfg_attr` that holds a `repr`, without the rest.
fn cfg_repr(attr: &syn::Attribute) -> Option<syn::Attribute> {
    let parts = attr.parse_args_with(Punctuated::<syn::Meta, Token![,]>::parse_terminated).ok()?;
    let mut parts = parts.into_iter();
    let predicate = parts.next()?;
    let reprs: Vec<syn::Meta> = parts.filter(|meta| meta.path().is_ident("repr")).collect();
    (!reprs.is_empty()).then(|| syn::parse_quote!(#[cfg_attr(#predicate, #(#reprs),*)]))
}

fn only(attrs: &mut Vec<syn::Attribute>, names: &[&str]) {
    attrs.retain(|attr| names.iter().any(|name| attr.path().is_ident(name)));
}

/// The copy of `module`, `depth` modules below the copy's root.
fn copy(
    module: &Module,
    depth: usize,
    old: &Crate<'_>,
    path: &[String],
    krate: &syn::Path,
) -> TokenStream {
    let up = if depth == 0 {
        quote!(self)
    } else {
        let supers = std::iter::repeat_n(quote!(super), depth);
        quote!(#(#supers)::*)
    };
    let public: Visibility = syn::parse_quote!(pub);
    let mentioned = mentioned(module);
    let mut out = TokenStream::new();
    for item in &module.items {
        let item = match item {
            Item::Struct(item) => {
                let mut item = item.clone();
                item.attrs = type_attributes(&item.attrs, krate);
                item.vis = public.clone();
                for field in item.fields.iter_mut() {
                    field.vis = public.clone();
                    only(&mut field.attrs, &["cfg"]);
                }
                Item::Struct(item)
            }
            Item::Enum(item) => {
                let mut item = item.clone();
                item.attrs = type_attributes(&item.attrs, krate);
                item.vis = public.clone();
                for variant in &mut item.variants {
                    only(&mut variant.attrs, &["cfg"]);
                    for field in variant.fields.iter_mut() {
                        only(&mut field.attrs, &["cfg"]);
                    }
                }
                Item::Enum(item)
            }
            Item::Type(item) => {
                let mut item = item.clone();
                only(&mut item.attrs, &["cfg"]);
                item.vis = public.clone();
                Item::Type(item)
            }
            Item::Const(item)
                if old.values.contains(&[path, &[item.ident.to_string()]].concat()) =>
            {
                let mut item = item.clone();
                only(&mut item.attrs, &["cfg"]);
                item.vis = public.clone();
                Item::Const(item)
            }
            Item::Use(item) => {
                let colon = item.leading_colon.is_some();
                let Some(tree) = copied_use(&item.tree, colon, old, path, &mentioned) else {
                    continue;
                };
                let mut item = item.clone();
                only(&mut item.attrs, &["cfg"]);
                item.tree = tree;
                if !matches!(item.vis, Visibility::Inherited) {
                    item.vis = public.clone();
                }
                Item::Use(item)
            }
            Item::Union(item) => {
                let mut item = item.clone();
                item.attrs = type_attributes(&item.attrs, krate);
                item.vis = public.clone();
                for field in item.fields.named.iter_mut() {
                    field.vis = public.clone();
                    only(&mut field.attrs, &["cfg"]);
                }
                Item::Union(item)
            }
            _ => continue,
        };
        out.extend(relative_crate(item.to_token_stream(), &up));
    }
    for child in &module.children {
        let Ok(name) = syn::parse_str::<syn::Ident>(&child.name) else { continue };
        let mut inner = path.to_vec();
        inner.push(child.name.clone());
        let items = copy(child, depth + 1, old, &inner, krate);
        let cfg = &child.cfg;
        out.extend(quote!(#(#cfg)* pub mod #name { #items }));
    }
    out
}

/// The part of a `use` tree of `module` that the copy can keep: what names another crate, and
/// what names the copy's own items; `None` if nothing.
fn copied_use(
    tree: &syn::UseTree,
    leading_colon: bool,
    old: &Crate<'_>,
    module: &[String],
    mentioned: &BTreeSet<String>,
) -> Option<syn::UseTree> {
    let first = match tree {
        syn::UseTree::Path(path) => path.ident.to_string(),
        syn::UseTree::Name(name) => name.ident.to_string(),
        syn::UseTree::Rename(rename) => rename.ident.to_string(),
        _ => return Some(tree.clone()),
    };
    let local = matches!(first.as_str(), "crate" | "self" | "super")
        || old.lookup(module, &first).is_some();
    if leading_colon || !local {
        // Another crate's: kept where the copy names what it binds, so that a crate the new
        // release no longer depends on, or code of one, is not imported.
        return filter_use(tree, &mut Vec::new(), &mut |_, bound| mentioned.contains(bound));
    }
    let mut names_copied = |path: &[String], _: &str| old.resolve_segments(module, path).is_some();
    filter_use(tree, &mut Vec::new(), &mut names_copied)
}

/// The part of a `use` tree whose leaves `keep` accepts, given the path each names (`a::b` for
/// `a::{b}`, `a` for `a::{self}`) and the name it binds, and its globs; `None` if nothing.
fn filter_use(
    tree: &syn::UseTree,
    prefix: &mut Vec<String>,
    keep: &mut impl FnMut(&[String], &str) -> bool,
) -> Option<syn::UseTree> {
    let mut leaf = |ident: &syn::Ident, bound: &syn::Ident| {
        let mut whole = prefix.clone();
        if ident != "self" {
            whole.push(ident.to_string());
        }
        keep(&whole, &bound.to_string()).then(|| tree.clone())
    };
    match tree {
        syn::UseTree::Path(path) => {
            prefix.push(path.ident.to_string());
            let inner = filter_use(&path.tree, prefix, keep);
            prefix.pop();
            let mut path = path.clone();
            path.tree = Box::new(inner?);
            Some(syn::UseTree::Path(path))
        }
        syn::UseTree::Name(name) => leaf(&name.ident, &name.ident),
        syn::UseTree::Rename(rename) => leaf(&rename.ident, &rename.rename),
        syn::UseTree::Glob(_) => Some(tree.clone()),
        syn::UseTree::Group(group) => {
            let items: Punctuated<syn::UseTree, Token![,]> =
                group.items.iter().filter_map(|tree| filter_use(tree, prefix, keep)).collect();
            if items.is_empty() {
                return None;
            }
            let mut group = group.clone();
            group.items = items;
            Some(syn::UseTree::Group(group))
        }
    }
}

/// The names the copied items of `module` and of its modules mention (a child names its
/// parent's imports through `super::`), and the first names of the module's `use` paths (one
/// `use` may name what another imports).
fn mentioned(module: &Module) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    // Attributes left aside: the copy's name nothing an import gives (its derive is a path).
    struct Unattributed;
    impl VisitMut for Unattributed {
        fn visit_attributes_mut(&mut self, attrs: &mut Vec<syn::Attribute>) {
            attrs.clear();
        }
    }
    for item in &module.items {
        match item {
            Item::Struct(_) | Item::Enum(_) | Item::Type(_) | Item::Union(_) | Item::Const(_) => {
                let mut item = item.clone();
                Unattributed.visit_item_mut(&mut item);
                names.extend(crate::sources::idents(&item.to_token_stream()));
            }
            Item::Use(declaration) => {
                if let syn::UseTree::Path(path) = &declaration.tree {
                    names.insert(path.ident.to_string());
                }
            }
            _ => {}
        }
    }
    for child in &module.children {
        names.extend(mentioned(child));
    }
    names
}

/// `tokens` with each `crate::` written as `up::`.
fn relative_crate(tokens: TokenStream, up: &TokenStream) -> TokenStream {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = TokenStream::new();
    for (index, tree) in trees.iter().enumerate() {
        match tree {
            TokenTree::Ident(ident)
                if ident == "crate"
                    && matches!(trees.get(index + 1), Some(TokenTree::Punct(p)) if p.as_char() == ':') =>
            {
                out.extend(up.clone());
            }
            TokenTree::Group(group) => {
                let mut inner = Group::new(group.delimiter(), relative_crate(group.stream(), up));
                inner.set_span(group.span());
                out.extend([TokenTree::Group(inner)]);
            }
            other => out.extend([other.clone()]),
        }
    }
    out
}

/// A type as the comparison reads it: each path cut to its last segment, with its arguments,
/// as the fingerprint knows a type (`std::sync::Mutex<T>` is `Mutex<T>`).
fn spelled(ty: &syn::Type) -> String {
    struct Last;
    impl VisitMut for Last {
        fn visit_type_path_mut(&mut self, node: &mut syn::TypePath) {
            syn::visit_mut::visit_type_path_mut(self, node);
            if node.qself.is_none() {
                if let Some(last) = node.path.segments.pop() {
                    node.path.leading_colon = None;
                    node.path.segments = Punctuated::from_iter([last.into_value()]);
                }
            }
        }
    }
    let mut ty = ty.clone();
    Last.visit_type_mut(&mut ty);
    tidy(&ty.to_token_stream().to_string())
}

/// A definition as the comparison reads it and the errors show it: its `repr`, name, generic
/// parameters and fields, without visibility, bounds, other attributes or docs.
fn definition(item: &Item) -> String {
    fn attrs(attrs: &[syn::Attribute], names: &[&str]) -> String {
        attrs
            .iter()
            .filter(|attr| names.iter().any(|name| attr.path().is_ident(name)))
            .map(|attr| format!("{} ", tidy(&attr.to_token_stream().to_string())))
            .collect()
    }
    fn fields(fields: &Fields) -> String {
        let field = |field: &syn::Field| {
            let name = field.ident.as_ref().map(|name| format!("{name}: ")).unwrap_or_default();
            format!("{}{name}{}", attrs(&field.attrs, &["cfg"]), spelled(&field.ty))
        };
        let all: Vec<String> = fields.iter().map(field).collect();
        match fields {
            Fields::Named(_) => format!(" {{ {} }}", all.join(", ")),
            Fields::Unnamed(_) => format!("({})", all.join(", ")),
            Fields::Unit => String::new(),
        }
    }
    // The parameters, without their bounds: the fingerprint has no bounds.
    let generics = |generics: &syn::Generics| {
        let params: Vec<String> = generics
            .params
            .iter()
            .map(|param| match param {
                syn::GenericParam::Type(ty) => ty.ident.to_string(),
                syn::GenericParam::Lifetime(lt) => lt.lifetime.to_string(),
                syn::GenericParam::Const(c) => format!("const {}", c.ident),
            })
            .collect();
        if params.is_empty() {
            String::new()
        } else {
            format!("<{}>", params.join(", "))
        }
    };
    match item {
        Item::Struct(item) => {
            let generics = generics(&item.generics);
            let repr = attrs(&item.attrs, &["repr"]);
            format!("{repr}struct {}{generics}{}", item.ident, fields(&item.fields))
        }
        Item::Enum(item) => {
            let generics = generics(&item.generics);
            let repr = attrs(&item.attrs, &["repr"]);
            let variants: Vec<String> = item
                .variants
                .iter()
                .map(|variant| {
                    let value = variant.discriminant.as_ref().map(|(_, value)| {
                        format!(" = {}", tidy(&value.to_token_stream().to_string()))
                    });
                    format!(
                        "{}{}{}{}",
                        attrs(&variant.attrs, &["cfg"]),
                        variant.ident,
                        fields(&variant.fields),
                        value.unwrap_or_default()
                    )
                })
                .collect();
            format!("{repr}enum {}{generics} {{ {} }}", item.ident, variants.join(", "))
        }
        Item::Type(item) => {
            let generics = generics(&item.generics);
            format!("type {}{generics} = {}", item.ident, spelled(&item.ty))
        }
        _ => String::new(),
    }
}

/// Why no conversion is derived for a type written alike in both releases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NoConversion {
    /// It has one of its own: a `was`, or a transformer.
    Own,
    NotOnce,
    Changed,
    UnderCfg,
    NotStructOrEnum,
    Unfingerprinted,
    NotNameable,
    Tuple,
    Generic,
    Unrooted,
}

impl NoConversion {
    fn why(self) -> &'static str {
        match self {
            NoConversion::Own => "it has its own",
            NoConversion::NotOnce => "it is not defined once in each release",
            NoConversion::Changed => "it changed",
            NoConversion::UnderCfg => "some of its fields or variants are under `cfg`",
            NoConversion::NotStructOrEnum => "it is not a struct or an enum",
            NoConversion::Unfingerprinted => {
                "the running release's type derives no `dsu::Fingerprint`"
            }
            NoConversion::NotNameable => {
                "it is not visible, with its fields, where dsu::base! is written"
            }
            NoConversion::Tuple => "it is a tuple struct",
            NoConversion::Generic => "it is generic",
            NoConversion::Unrooted => {
                "its fields name types dsu::base! cannot name where it is written"
            }
        }
    }
}

/// The two releases side by side.
struct Compare<'a, 'c> {
    old: &'c Crate<'a>,
    new: &'c Crate<'a>,
    /// The copy's module.
    name: &'c syn::Ident,
    krate: &'c syn::Path,
    /// The conversions the macro writes: derived for the types written alike that the
    /// conversions need, and, beside the error of each one missing, one that never runs.
    written: std::cell::RefCell<Vec<TokenStream>>,
}

impl<'a, 'c> Compare<'a, 'c> {
    fn new(
        old: &'c Crate<'a>,
        new: &'c Crate<'a>,
        name: &'c syn::Ident,
        krate: &'c syn::Path,
    ) -> Self {
        Compare { old, new, name, krate, written: Default::default() }
    }

    /// The running release's definition of the new release's type at `path`: at the same path,
    /// or, where it has none, the one type of that name where each release has one (the
    /// fingerprint knows a type by its name, not its module).
    fn old_def(&self, path: &[String]) -> Option<&'c Def<'a>> {
        if let Some(def) = self.old.def(path) {
            return Some(def);
        }
        if self.old.defs.contains_key(path) {
            return None;
        }
        let name = path.last()?;
        let named = |krate: &'c Crate<'a>| {
            let mut all = krate.defs.iter().filter(|(p, _)| p.last() == Some(name));
            match (all.next(), all.next()) {
                (Some((_, defs)), None) if defs.len() == 1 => Some(&defs[0]),
                _ => None,
            }
        };
        named(self.new)?;
        named(self.old)
    }

    fn tokens(path: &[String]) -> TokenStream {
        let idents = path.iter().map(|segment| format_ident!("{}", segment));
        quote!(#(#idents)::*)
    }

    /// The conversion of a type written alike in both releases, or why there is none.
    fn unchanged_conversion(&self, path: &[String]) -> Result<TokenStream, NoConversion> {
        if self.new.derived.contains(path) || self.new.converted(path) {
            return Err(NoConversion::Own);
        }
        let (Some(old), Some(new)) = (self.old_def(path), self.new.def(path)) else {
            return Err(NoConversion::NotOnce);
        };
        if definition(old.item) != definition(new.item) {
            return Err(NoConversion::Changed);
        }
        let under_cfg = field_attrs(new.item).any(|attr| attr.path().is_ident("cfg"));
        if under_cfg {
            return Err(NoConversion::UnderCfg);
        }
        let old_attrs = match old.item {
            Item::Struct(item) => &item.attrs,
            Item::Enum(item) => &item.attrs,
            _ => return Err(NoConversion::NotStructOrEnum),
        };
        let fingerprinted = marked(old_attrs)
            || old_attrs.iter().any(|attr| {
                attr.path().is_ident("derive")
                    && attr.to_token_stream().to_string().contains("Fingerprint")
            });
        if !fingerprinted {
            return Err(NoConversion::Unfingerprinted);
        }
        if !new.nameable {
            return Err(NoConversion::NotNameable);
        }
        let name = Self::tokens(path);
        let copy = self.name;
        let old_path = Self::tokens(&old.path());
        let was = quote!(#copy::#old_path);
        match new.item {
            Item::Struct(item) if item.generics.params.is_empty() => match item.fields {
                Fields::Unnamed(_) => Err(NoConversion::Tuple),
                _ => Ok(crate::derived_transform::struct_conversion(self.krate, item, &name, &was)),
            },
            Item::Enum(item) if item.generics.params.is_empty() => {
                let mut item = item.clone();
                if !new.module.is_empty() {
                    let mut rooted = Rooted { krate: self.new, module: &new.module, failed: false };
                    for variant in &mut item.variants {
                        for field in variant.fields.iter_mut() {
                            rooted.visit_type_mut(&mut field.ty);
                        }
                    }
                    if rooted.failed {
                        return Err(NoConversion::Unrooted);
                    }
                }
                Ok(crate::derived_transform::enum_conversion(self.krate, &item, &name, &was))
            }
            _ => Err(NoConversion::Generic),
        }
    }

    /// The errors of globals whose conversion is missing, each with the definitions, and the
    /// derived conversions of types written alike that the globals' conversions need. Only
    /// those: a type's derived conversion needs one of each of its fields' types, which a type
    /// no conversion needs may not have.
    fn check(&self) -> (Vec<String>, TokenStream) {
        let mut errors = Vec::new();
        // Shared by the globals: a type two of them need is one mistake, reported once.
        let mut seen = BTreeSet::new();
        for global in &self.new.globals {
            let Some(old) = self
                .old
                .globals
                .iter()
                .find(|old| old.module == global.module && old.item.ident == global.item.ident)
            else {
                continue;
            };
            let mut at = global.module.clone();
            at.push(global.item.ident.to_string());
            let shown = at.join("::");
            match &global.was {
                Some(_) => {
                    let by = format!("the conversion of the global `{shown}`");
                    for path in self.new.converted_types(&global.module, &global.item.ty) {
                        self.needed(&path, &by, &mut seen, &mut errors);
                    }
                }
                None => {
                    if let Some(error) = self.changed_without_was(old, global, &shown) {
                        errors.push(error);
                    }
                }
            }
        }
        // A type's `was` derives its conversion whatever holds it: what that conversion needs,
        // it needs.
        for path in &self.new.derived {
            let by = format!("the conversion `was` derives for `{}`", path.join("::"));
            self.needed(path, &by, &mut seen, &mut errors);
        }
        (errors, self.written.take().into_iter().collect())
    }

    /// The error of a global without `was` whose type changed.
    fn changed_without_was(
        &self,
        old: &Global<'_>,
        global: &Global<'_>,
        shown: &str,
    ) -> Option<String> {
        let text = |ty: &syn::Type| tidy(&ty.to_token_stream().to_string());
        let mut changed = Vec::new();
        let mut seen = BTreeSet::new();
        let mut queue = self.new.named(&global.module, &global.item.ty);
        while let Some(path) = queue.pop() {
            if !seen.insert(path.clone()) {
                continue;
            }
            let Some(new) = self.new.def(&path) else { continue };
            match self.old_def(&path) {
                Some(old) if definition(old.item) == definition(new.item) => {}
                old => changed.push((path.clone(), old.map(|old| definition(old.item)), new)),
            }
            for ty in field_types(new.item) {
                queue.extend(self.new.named(&new.module, ty));
            }
        }
        if spelled(&old.item.ty) == spelled(&global.item.ty) && changed.is_empty() {
            return None;
        }
        let copy = self.name;
        let mut message = format!(
            "the type of the global `{shown}` changed since the running release (`{copy}`), and \
             nothing converts its value:"
        );
        if spelled(&old.item.ty) != spelled(&global.item.ty) {
            let (name, old, new) = (&global.item.ident, text(&old.item.ty), text(&global.item.ty));
            let _ =
                write!(message, "\n  {copy}: static {name}: {old}\n  now: static {name}: {new}");
        }
        changed.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, old, new) in &changed {
            let _ = write!(
                message,
                "\n`{}` ({}):\n  {}: {}\n  now: {}",
                path.join("::"),
                new.file,
                self.name,
                old.as_deref().unwrap_or("(none)"),
                definition(new.item)
            );
        }
        let was = self.old_type(old);
        let _ = write!(
            message,
            "\nname the running type on the global, `#[dsu::updateable(was = {was})]`, and give \
             each changed type a conversion: `#[dsu::updateable(was = ..)]` on the type, or a \
             `#[dsu::transform]` function"
        );
        Some(message)
    }

    /// The running global's type, with the crate's types named in the copy.
    fn old_type(&self, old: &Global<'_>) -> String {
        struct InCopy<'k, 'a> {
            krate: &'k Crate<'a>,
            module: &'k [String],
            copy: &'k syn::Ident,
            below: bool,
        }
        impl VisitMut for InCopy<'_, '_> {
            fn visit_type_path_mut(&mut self, node: &mut syn::TypePath) {
                syn::visit_mut::visit_type_path_mut(self, node);
                if node.qself.is_some() {
                    return;
                }
                if let Some(path) = self.krate.resolve(self.module, &node.path) {
                    let copy = self.copy;
                    let root = if self.below { quote!(crate::#copy) } else { quote!(#copy) };
                    let path = Compare::tokens(&path);
                    repath(node, quote!(#root::#path));
                }
            }
        }
        let mut ty = old.item.ty.as_ref().clone();
        InCopy {
            krate: self.old,
            module: &old.module,
            copy: self.name,
            below: !old.module.is_empty(),
        }
        .visit_type_mut(&mut ty);
        tidy(&ty.to_token_stream().to_string())
    }

    /// Checks that a conversion the global's needs exists for `path`, and for the types its
    /// derived conversion needs in turn.
    fn needed(
        &self,
        path: &[String],
        global: &str,
        seen: &mut BTreeSet<Vec<String>>,
        errors: &mut Vec<String>,
    ) {
        // Beside the error, a conversion that never runs: the derived conversions that need
        // one would each be a second error of the same mistake.
        if self.needed_here(path, global, seen, errors) {
            if let (Some(old), Some(new)) = (self.old_def(path), self.new.def(path)) {
                let generic = match new.item {
                    Item::Struct(item) => !item.generics.params.is_empty(),
                    Item::Enum(item) => !item.generics.params.is_empty(),
                    _ => true,
                };
                if new.nameable && !generic {
                    let (copy, name) = (self.name, Self::tokens(path));
                    let old_path = Self::tokens(&old.path());
                    self.written.borrow_mut().push(quote! {
                        impl __dsu_alias::Transform<#copy::#old_path> for #name {
                            fn transform(_: &#copy::#old_path) -> Self {
                                ::core::unreachable!()
                            }
                        }
                    });
                }
            }
        }
    }

    /// `needed`, saying whether it found the conversion missing.
    fn needed_here(
        &self,
        path: &[String],
        global: &str,
        seen: &mut BTreeSet<Vec<String>>,
        errors: &mut Vec<String>,
    ) -> bool {
        if !seen.insert(path.to_vec()) || self.new.converted(path) {
            return false;
        }
        let (Some(old), Some(new)) = (self.old_def(path), self.new.def(path)) else {
            return false;
        };
        let shown = path.join("::");
        let copy = self.name;
        let (old_text, new_text) = (definition(old.item), definition(new.item));
        let site = format!("`{shown}` ({}):\n  {copy}: {old_text}\n  now: {new_text}", new.file);
        if let (Item::Type(_), Item::Type(alias)) = (old.item, new.item) {
            if old_text != new_text {
                // The type that holds the alias converts a field of the old target to one of
                // the new: only a transformer of that type can.
                errors.push(format!(
                    "the type alias `{shown}` changed since the running release (`{copy}`), and \
                     {global} converts what it names:\n{site}\n\
                     write a `#[dsu::transform]` function for the type that holds it"
                ));
                return false;
            }
            for inner in self.new.converted_types(&new.module, &alias.ty) {
                self.needed(&inner, global, seen, errors);
            }
            return false;
        }
        let unchanged = match self.new.derived.contains(path) {
            true => Ok(None),
            false => self.unchanged_conversion(path).map(Some),
        };
        match unchanged {
            Ok(None) => {}
            Ok(Some(conversion)) => self.written.borrow_mut().push(conversion),
            Err(missing) => {
                // As the type's own module names the copy.
                let named = match new.module.is_empty() {
                    true => format!("{copy}::{}", old.path().join("::")),
                    false => format!("crate::{copy}::{}", old.path().join("::")),
                };
                let transform = format!("a `#[dsu::transform]` function from `&{named}`");
                let derive = format!(
                    "derive it with `#[dsu::updateable(was = {named})]` on the type, or write \
                     {transform}"
                );
                let why = missing.why();
                let (why, fix) = match missing {
                    NoConversion::Changed => (
                        format!(
                            "`{shown}` changed since the running release (`{copy}`), and nothing \
                             converts it"
                        ),
                        derive,
                    ),
                    // A conversion `was` cannot derive either.
                    NoConversion::Generic | NoConversion::Tuple => (
                        format!(
                            "`{shown}` is written alike in both releases, but no conversion can \
                             be derived for it: {why}"
                        ),
                        format!("write {transform}"),
                    ),
                    _ => (
                        format!(
                            "`{shown}` is written alike in both releases, but dsu::base! cannot \
                             derive its conversion: {why}"
                        ),
                        derive,
                    ),
                };
                errors.push(format!("{why}; {global} needs one:\n{site}\n{fix}"));
                return true;
            }
        }
        for ty in paired_fields(old.item, new.item) {
            for inner in self.new.converted_types(&new.module, ty) {
                self.needed(&inner, global, seen, errors);
            }
        }
        false
    }
}

/// The types of a definition's fields (a type alias: its target).
fn field_types(item: &Item) -> Vec<&syn::Type> {
    match item {
        Item::Struct(item) => item.fields.iter().map(|field| &field.ty).collect(),
        Item::Enum(item) => {
            item.variants.iter().flat_map(|v| v.fields.iter().map(|f| &f.ty)).collect()
        }
        Item::Type(item) => vec![&item.ty],
        _ => Vec::new(),
    }
}

/// The types of the new definition's fields that a derived conversion makes from a field of
/// the old one: of the same name, or, in a variant of the same name, at the same place.
fn paired_fields<'i>(old: &'i Item, new: &'i Item) -> Vec<&'i syn::Type> {
    fn by_name<'i>(old: &'i Fields, new: &'i Fields) -> Vec<&'i syn::Type> {
        let paired = |(index, field): (usize, &'i syn::Field)| match &field.ident {
            Some(name) => old.iter().any(|o| o.ident.as_ref() == Some(name)),
            None => index < old.len(),
        };
        new.iter().enumerate().filter(|&pair| paired(pair)).map(|(_, field)| &field.ty).collect()
    }
    match (old, new) {
        (Item::Struct(old), Item::Struct(new)) => by_name(&old.fields, &new.fields),
        (Item::Enum(old), Item::Enum(new)) => new
            .variants
            .iter()
            .filter_map(|variant| {
                let old = old.variants.iter().find(|o| o.ident == variant.ident)?;
                Some(by_name(&old.fields, &variant.fields))
            })
            .flatten()
            .collect(),
        _ => Vec::new(),
    }
}

/// Writes the types a module's definition names as the crate's root names them: its own types
/// by their paths, names a `use` binds by what it binds them to; fails on what it cannot tell.
struct Rooted<'k, 'a> {
    krate: &'k Crate<'a>,
    module: &'k [String],
    failed: bool,
}

/// Names the prelude and the primitives give every module.
const PRELUDE: &[&str] = &[
    "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64",
    "i128", "isize", "f32", "f64", "String", "Vec", "Box", "Option", "Result",
];

impl VisitMut for Rooted<'_, '_> {
    /// A constant in a type (`[u8; LEN]`) names what the module has in scope, which the root
    /// may not.
    fn visit_expr_path_mut(&mut self, _: &mut syn::ExprPath) {
        self.failed = true;
    }

    fn visit_type_path_mut(&mut self, node: &mut syn::TypePath) {
        syn::visit_mut::visit_type_path_mut(self, node);
        if node.qself.is_some() || node.path.leading_colon.is_some() {
            return;
        }
        let first = node.path.segments[0].ident.to_string();
        let written: Vec<String> = node.path.segments.iter().map(|s| s.ident.to_string()).collect();
        if let Some(path) = self.krate.resolve(self.module, &node.path) {
            repath(node, Compare::tokens(&path));
        } else if let Some(target) = self.krate.uses(self.module).0.get(&first).cloned() {
            // Another crate's, through a `use`.
            let mut whole = target;
            whole.extend(written[1..].iter().cloned());
            if matches!(whole[0].as_str(), "crate" | "self" | "super") {
                self.failed = true;
                return;
            }
            let whole = Compare::tokens(&whole);
            repath(node, quote!(::#whole));
        } else if written.len() == 1 && PRELUDE.contains(&first.as_str()) {
            // The prelude's, everywhere.
        } else if written.len() > 1 && !matches!(first.as_str(), "crate" | "self" | "super") {
            // Another crate's, by its name.
        } else {
            self.failed = true;
        }
    }
}

/// Writes `node` as `path`, keeping the arguments of its last segment (`Vec<T>` stays generic).
fn repath(node: &mut syn::TypePath, path: TokenStream) {
    let args = node.path.segments.last().map(|s| s.arguments.clone());
    node.path = syn::parse_quote!(#path);
    if let (Some(last), Some(args)) = (node.path.segments.last_mut(), args) {
        last.arguments = args;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `files` under a fresh directory: `old/..` is the running release's package,
    /// `new/src/lib.rs` the file `dsu::base!(v1 = "../../old")` is written in.
    fn expanded(files: &[(&str, &str)]) -> Result<String, String> {
        // A directory of each call's own: tests that write the same files run at once.
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("dsu-base-{}-{call}", std::process::id()));
        let manifest = "[package]\nname = \"app\"\nversion = \"1.0.0\"\n";
        fs::create_dir_all(dir.join("old/src")).unwrap();
        fs::write(dir.join("old/Cargo.toml"), manifest).unwrap();
        fs::create_dir_all(dir.join("new/src")).unwrap();
        fs::write(dir.join("new/Cargo.toml"), manifest.replace("1.0.0", "2.0.0")).unwrap();
        for (name, text) in files {
            let path = dir.join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        let result = generate(quote!(v1 = "../../old"), Some(dir.join("new/src/lib.rs")));
        let _ = fs::remove_dir_all(&dir);
        let messages = |error: syn::Error| {
            error.into_iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n---\n")
        };
        match result {
            Ok((tokens, None)) => Ok(tidy(&tokens.to_string())),
            Ok((_, Some(error))) | Err(error) => Err(messages(error)),
        }
    }

    const OLD_LIB: &str = "
        use std::collections::HashMap;
        use std::sync::Mutex;
        use crate::kind::Kind;
        mod kind;
        #[cfg(feature = \"gone\")]
        mod gone;
        #[derive(dsu::Fingerprint, Clone, serde::Serialize)]
        pub struct Entry { value: String, #[serde(skip)] kind: Kind }
        #[dsu::updateable]
        static STORE: Mutex<HashMap<String, Entry>> = Mutex::new(HashMap::new());
        pub fn helper() {}
        const WIDTH: usize = 8;
        const WIDER: usize = (WIDTH * 2) as usize;
        const COMPUTED: usize = helper_len();
        #[derive(dsu::Fingerprint)]
        pub struct Config { pub path: std::path::PathBuf }
        use crate::helper as h;
    ";
    const OLD_KIND: &str = "
        #[derive(dsu::Fingerprint)]
        pub enum Kind { Text, Number { digits: u32 } }
        pub mod deep { pub struct Note { pub at: crate::kind::Kind } }
    ";

    fn new_lib(entry: &str, store: &str) -> String {
        format!(
            "use std::collections::HashMap; use std::sync::Mutex; use crate::kind::Kind; mod kind;
             #[derive(dsu::Fingerprint)] pub struct Config {{ pub path: std::path::PathBuf }}
             {entry}
             {store} static STORE: Mutex<HashMap<String, Entry>> = Mutex::new(HashMap::new());"
        )
    }

    /// The running release of `OLD_LIB` and `OLD_KIND`, and a new one of `lib` and `kind`.
    fn against_old(lib: &str, kind: &str) -> Result<String, String> {
        expanded(&[
            ("old/src/lib.rs", OLD_LIB),
            ("old/src/kind.rs", OLD_KIND),
            ("new/src/lib.rs", lib),
            ("new/src/kind.rs", kind),
        ])
    }

    const ENTRY_DERIVED: &str = "#[dsu::updateable(was = v1::Entry)]
        pub struct Entry { value: String, kind: Kind, hits: u64 }";
    const STORE_WAS: &str = "#[dsu::updateable(was = Mutex<HashMap<String, v1::Entry>>)]";

    #[test]
    fn the_copy_has_the_types_all_public_with_the_uses_that_name_them() {
        let new = new_lib(ENTRY_DERIVED, STORE_WAS);
        let out = against_old(&new, OLD_KIND).unwrap();
        let copy = &out[..out.find("const _ :()").unwrap()];
        for expected in [
            "use self::kind::Kind;",
            "#[derive(::dsu::Fingerprint)] #[dsu(crate =::dsu)] pub struct Entry { pub value : \
             String, pub kind : Kind }",
            "pub const WIDTH : usize = 8;",
            "pub const WIDER : usize =(WIDTH * 2) as usize;",
            "pub mod kind { #[derive(::dsu::Fingerprint)] #[dsu(crate =::dsu)] pub enum Kind",
            "pub mod deep { pub struct Note { pub at : super::super::kind::Kind } }",
        ] {
            assert!(copy.contains(expected), "{expected} in {copy}");
        }
        // Code, statics, a `const` that calls code, a use of code, imports no copied type
        // names, other derives and their attributes, and a module the build leaves out are
        // not copied.
        for unexpected in ["helper", "STORE", "COMPUTED", "serde", "gone", "Clone", "use std"] {
            assert!(!copy.contains(unexpected), "{unexpected} in {copy}");
        }
    }

    #[test]
    fn the_copy_finds_names_through_imports_and_leaves_out_what_needs_code() {
        let lib = "
            #[macro_use] extern crate libc;
            use libc::getpid;
            use std::fmt;
            use std::collections::{HashMap, BTreeMap as Ordered};
            mod model;
            pub use model::Entry;
            mod store;
            mod win;
            use crate::model::{self as m};
            pub struct Holder { pub entry: m::Entry, pub map: HashMap<String, Ordered<u8, u8>> }
            #[derive(Clone, Copy, Debug, dsu::Fingerprint)]
            #[cfg_attr(target_os = \"linux\", repr(C), derive(Hash))]
            pub struct Point { pub x: i32 }
            impl fmt::Debug for Holder { fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result { Ok(()) } }
            pub union Bits { pub word: u32, pub bytes: [u8; 4] }
            const HOOK: fn() = noop;
            const PORT: u16 = Config::DEFAULT;
            fn noop() {}
        ";
        let out = expanded(&[
            ("old/src/lib.rs", lib),
            ("old/src/model.rs", "pub struct Entry { pub value: String }"),
            ("old/src/store.rs", "use crate::Entry; use super::Holder as H; pub struct Snapshot { pub entries: Vec<Entry>, pub holder: H }"),
            ("old/src/win.rs", "#![cfg(windows)]\nuse windows_sys::Thing; pub struct W(Thing);"),
            ("new/src/lib.rs", ""),
        ])
        .unwrap();
        for expected in [
            "use std::collections::{ HashMap, BTreeMap as Ordered };",
            "pub use model::Entry;",
            "use self::model::{ self as m };",
            "#[cfg_attr(target_os = \"linux\", repr(C))] #[derive(::dsu::Fingerprint)] \
             #[dsu(crate =::dsu)] pub struct Point",
            "pub union Bits { pub word : u32, pub bytes :[u8; 4] }",
            "pub mod store { use super::Entry; use super::Holder as H; pub struct Snapshot",
            "#[cfg(windows)] pub mod win { use windows_sys::Thing;",
        ] {
            assert!(out.contains(expected), "{expected} in {out}");
        }
        for unexpected in ["libc", "getpid", "fmt", "HOOK", "PORT", "Debug", "Copy", "(Hash)"] {
            assert!(!out.contains(unexpected), "{unexpected} in {out}");
        }
    }

    #[test]
    fn a_type_written_alike_gets_the_derived_conversion_and_a_changed_one_does_not() {
        let new = new_lib(ENTRY_DERIVED, STORE_WAS);
        let out = against_old(&new, OLD_KIND).unwrap();
        assert!(
            out.contains("impl __dsu_alias::Transform<v1::kind::Kind> for kind::Kind"),
            "{out}"
        );
        // `Entry` changed, and its own `was` derives its conversion.
        assert!(!out.contains("Transform<v1::Entry>"), "{out}");
        // `Note` is in a module the root cannot name; `Config` is written alike, but no
        // conversion needs it, and a derived one would need one of its field's type.
        assert!(!out.contains("v1::kind::deep::Note"), "{out}");
        assert!(!out.contains("v1::Config"), "{out}");
    }

    #[test]
    fn a_global_whose_type_changed_without_was_shows_both_definitions() {
        let new = new_lib(ENTRY_DERIVED, "#[dsu::updateable]");
        let error = against_old(&new, OLD_KIND).unwrap_err();
        assert_eq!(
            error,
            "the type of the global `STORE` changed since the running release (`v1`), and nothing \
             converts its value:\n`Entry` (src/lib.rs):\n  v1: struct Entry { \
             value: String, kind: Kind }\n  now: struct Entry { value: String, kind: Kind, hits: u64 }\n\
             name the running type on the global, `#[dsu::updateable(was = Mutex<HashMap<String, \
             v1::Entry>>)]`, and give each changed type a conversion: `#[dsu::updateable(was = ..)]` \
             on the type, or a `#[dsu::transform]` function"
        );
    }

    #[test]
    fn a_changed_type_the_conversion_needs_without_one_shows_both_definitions() {
        let new = new_lib(ENTRY_DERIVED, STORE_WAS);
        let kind = OLD_KIND.replace("digits: u32", "digits: u64");
        let error = against_old(&new, &kind).unwrap_err();
        assert!(error.starts_with(
            "`kind::Kind` changed since the running release (`v1`), and nothing converts it; the \
             conversion of the global `STORE` needs one:\n`kind::Kind` (src/kind.rs):\n  v1: enum \
             Kind { Text, Number { digits: u32 } }\n  now: enum Kind { Text, Number { digits: u64 } }\n"
        ), "{error}");
        // Converted by hand, or derived: no error.
        for fix in [
            "#[dsu::transform] fn kind(old: &crate::v1::kind::Kind) -> Kind { todo!() }",
            "impl dsu::Transform<crate::v1::kind::Kind> for Kind { fn transform(_: &crate::v1::kind::Kind) -> Self { todo!() } }",
        ] {
            let kind = format!("{kind}\n{fix}");
            against_old(&new, &kind)
            .unwrap();
        }
        let kind = kind.replace(
            "#[derive(dsu::Fingerprint)]",
            "#[dsu::updateable(was = crate::v1::kind::Kind)]",
        );
        against_old(&new, &kind).unwrap();
    }

    #[test]
    fn a_field_the_new_type_adds_needs_no_conversion() {
        let entry = "#[dsu::updateable(was = v1::Entry)]
            pub struct Entry { value: String, kind: Kind, note: kind::deep::Note }";
        let new = new_lib(entry, STORE_WAS);
        let kind = OLD_KIND.replace("at: crate::kind::Kind", "at: u8");
        against_old(&new, &kind).unwrap();
    }

    #[test]
    fn a_type_written_alike_whose_conversion_cannot_be_derived_here_says_why() {
        let tag = "#[derive(dsu::Fingerprint)] pub struct Tag { name: String }";
        let old_lib = OLD_LIB.replace("kind: Kind }", "kind: Kind, tag: kind::Tag }");
        let old_kind = format!("{OLD_KIND}\n{tag}");
        let entry = ENTRY_DERIVED.replace("hits: u64", "hits: u64, tag: kind::Tag");
        let new = new_lib(&entry, STORE_WAS);
        let error = expanded(&[
            ("old/src/lib.rs", &old_lib),
            ("old/src/kind.rs", &old_kind),
            ("new/src/lib.rs", &new),
            ("new/src/kind.rs", &old_kind),
        ])
        .unwrap_err();
        assert!(
            error.starts_with(
                "`kind::Tag` is written alike in both releases, but dsu::base! cannot derive its \
                 conversion: it is not visible, with its fields, where dsu::base! is written; the \
                 conversion of the global `STORE` needs one:\n`kind::Tag` (src/kind.rs):\n  v1: \
                 struct Tag { name: String }\n  now: struct Tag { name: String }\n"
            ),
            "{error}"
        );
    }

    #[test]
    fn keys_types_that_moved_and_spellings_are_not_changes() {
        // A key type keeps its type in a conversion: it needs none, though no conversion can be
        // derived for a tuple struct.
        let id = "#[derive(dsu::Fingerprint)] pub struct UserId(pub u64);";
        let old_lib = format!("{OLD_LIB}\n{id}");
        let new = new_lib(ENTRY_DERIVED, STORE_WAS)
            .replace("HashMap<String, Entry>>", "HashMap<UserId, Entry>>")
            .replace("HashMap<String, v1::Entry>>", "HashMap<UserId, v1::Entry>>");
        let new = format!("{new}\n{id}");
        let old_lib = old_lib.replace("HashMap<String, Entry>>", "HashMap<UserId, Entry>>");
        expanded(&[
            ("old/src/lib.rs", &old_lib),
            ("old/src/kind.rs", OLD_KIND),
            ("new/src/lib.rs", &new),
            ("new/src/kind.rs", OLD_KIND),
        ])
        .unwrap();
        // `Entry` moved to a module, and the global is spelled with its path: the same type.
        let old = "use std::sync::Mutex;
            #[derive(dsu::Fingerprint)] pub struct Entry { pub value: String }
            #[dsu::updateable] static STORE: Mutex<Vec<Entry>> = Mutex::new(Vec::new());";
        let new = "pub mod model { #[derive(dsu::Fingerprint)] pub struct Entry { pub value: ::std::string::String } }
            use model::Entry;
            #[dsu::updateable] static STORE: std::sync::Mutex<Vec<Entry>> = std::sync::Mutex::new(Vec::new());";
        expanded(&[("old/src/lib.rs", old), ("new/src/lib.rs", new)]).unwrap();
    }

    #[test]
    fn a_transformer_the_parse_cannot_resolve_is_trusted_and_not_doubled() {
        // Through a glob, in a block: the conversion is the user's, and none is derived.
        let kind = OLD_KIND.replace("digits: u32", "digits: u64");
        let new = new_lib(ENTRY_DERIVED, STORE_WAS);
        let new = format!("{new}\nmod conv;");
        let conv = "use super::*; const _: () = { impl dsu::Transform<v1::kind::Kind> for Kind { fn transform(_: &v1::kind::Kind) -> Self { todo!() } } };";
        expanded(&[
            ("old/src/lib.rs", OLD_LIB),
            ("old/src/kind.rs", OLD_KIND),
            ("new/src/lib.rs", &new),
            ("new/src/kind.rs", &kind),
            ("new/src/conv.rs", conv),
        ])
        .unwrap();
        // Written alike, converted by hand on purpose: no second conversion.
        let conv =
            "use super::*; #[dsu::transform] fn kind(old: &v1::kind::Kind) -> Kind { todo!() }";
        let out = expanded(&[
            ("old/src/lib.rs", OLD_LIB),
            ("old/src/kind.rs", OLD_KIND),
            ("new/src/lib.rs", &new),
            ("new/src/kind.rs", OLD_KIND),
            ("new/src/conv.rs", conv),
        ])
        .unwrap();
        assert!(!out.contains("Transform<v1::kind::Kind>"), "{out}");
    }

    #[test]
    fn what_a_derived_conversion_cannot_convert_is_an_error_that_says_what_to_write() {
        let run = |old_kind: &str, new_kind: &str, entry: &str| {
            let new = new_lib(entry, STORE_WAS);
            expanded(&[
                ("old/src/lib.rs", &OLD_LIB.replace("kind: Kind }", "kind: Kind, id: kind::Id }")),
                ("old/src/kind.rs", old_kind),
                ("new/src/lib.rs", &new),
                ("new/src/kind.rs", new_kind),
            ])
        };
        let entry = ENTRY_DERIVED.replace("hits: u64", "hits: u64, id: kind::Id");
        // An alias whose target changed.
        let alias = format!("{OLD_KIND}\npub type Id = u32;");
        let error = run(&alias, &alias.replace("u32;", "u64;"), &entry).unwrap_err();
        assert!(
            error.starts_with("the type alias `kind::Id` changed since the running release"),
            "{error}"
        );
        // A field under `cfg`, in a type written alike.
        let cfg = format!("{OLD_KIND}\n#[derive(dsu::Fingerprint)] pub struct Id {{ pub a: u8, #[cfg(feature = \"x\")] pub b: u8 }}");
        let error = run(&cfg, &cfg, &entry).unwrap_err();
        assert!(error.contains("some of its fields or variants are under `cfg`"), "{error}");
        // A tuple struct: no `was` either, a transformer.
        let tuple = format!("{OLD_KIND}\n#[derive(dsu::Fingerprint)] pub struct Id(pub u8);");
        let error = run(&tuple, &tuple, &entry).unwrap_err();
        assert!(
            error.contains("no conversion can be derived for it: it is a tuple struct"),
            "{error}"
        );
        assert!(
            error.ends_with("write a `#[dsu::transform]` function from `&crate::v1::kind::Id`"),
            "{error}"
        );
        // An enum in a module whose field names a constant of its module.
        let array = format!("{OLD_KIND}\nconst LEN: usize = 4;\n#[derive(dsu::Fingerprint)] pub enum Id {{ Code([u8; LEN]) }}");
        let error = run(&array, &array, &entry).unwrap_err();
        assert!(
            error.contains("its fields name types dsu::base! cannot name where it is written"),
            "{error}"
        );
    }

    #[test]
    fn globs_that_lead_back_to_each_other_end() {
        // Each name the lookup cannot find tries every glob, which leads back here: without a
        // guard, a lookup would take a number of steps exponential in the globs.
        let lib = "use std::collections::*; use std::sync::*; use std::cell::*; use std::rc::*;
            pub mod a { use super::*; use crate::b::*; pub struct A { pub x: Unknown, pub b: B } }
            pub mod b { use super::*; use crate::a::*; pub struct B { pub y: Missing } }
            pub use a::*; pub use b::*;";
        let out = expanded(&[("old/src/lib.rs", lib), ("new/src/lib.rs", lib)]).unwrap();
        assert!(out.contains("pub struct A { pub x : Unknown, pub b : B }"), "{out}");
    }

    #[test]
    fn sources_that_cannot_be_read_are_refused() {
        let error = expanded(&[("new/src/lib.rs", "")]).unwrap_err();
        assert!(error.contains("`src/lib.rs` cannot be read"), "{error}");
        let error =
            expanded(&[("old/src/lib.rs", "mod missing;"), ("new/src/lib.rs", "")]).unwrap_err();
        assert!(error.contains("the file of `mod missing;` in `src/lib.rs` is missing"), "{error}");
        let error = expanded(&[("old/src/lib.rs", "fn ("), ("new/src/lib.rs", "")]).unwrap_err();
        assert!(error.contains("`src/lib.rs` cannot be parsed"), "{error}");
        // A module that is its own file again is refused, not read forever.
        let error = expanded(&[
            ("old/src/lib.rs", "#[path = \"lib.rs\"] mod again;"),
            ("new/src/lib.rs", ""),
        ])
        .unwrap_err();
        assert!(error.contains("`src/lib.rs` is a module of itself"), "{error}");
    }

    #[test]
    fn a_base_of_another_release_than_the_patch_declares_is_refused() {
        let new = "dsu::patch!(sequence = 2, base = \"1.1.0\");";
        let error = expanded(&[("old/src/lib.rs", ""), ("new/src/lib.rs", new)]).unwrap_err();
        assert!(
            error.contains(
                "are of release 1.0.0, but `dsu::patch!` declares this release built on 1.1.0"
            ),
            "{error}"
        );
        let new = "dsu::patch!(sequence = 2, base = \"1.0.0\");";
        expanded(&[("old/src/lib.rs", ""), ("new/src/lib.rs", new)]).unwrap();
    }
}
