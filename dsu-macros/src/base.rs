//! `dsu::base!(v1 = "../../app-1.1.0")`: the running release's types, read from its sources,
//! for a release that converts a global to name the old types with, instead of copies by hand.
//!
//! The path is the running release's package directory (a checkout of its tag), relative to
//! the file the macro is written in, as `include_str!`'s are. Written at the crate's root, the
//! macro expands to
//!
//! ```text
//! mod v1 {
//!     // Every struct, enum, type alias and literal `const` of the running release's library,
//!     // in its modules, all `pub`; the `use` items that name other crates or these items;
//!     // derives of std and dsu; `#[dsu::updateable(was = ..)]` as `#[derive(dsu::Fingerprint)]`;
//!     // `crate::` written relative to `v1`.
//! }
//! // For each type written alike in both releases, the conversion `was` would derive:
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
    let Input { name, dir, krate } = syn::parse2(input).map_err(|error| {
        syn::Error::new(
            error.span(),
            format!(
                "{error}: write `dsu::base!(v1 = \"../../app-1.1.0\")`, the module to write and \
                 the running release's package directory, relative to this file"
            ),
        )
    })?;
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
    if let Some(error) = errors.into_iter().reduce(|mut all, error| {
        all.combine(error);
        all
    }) {
        return Err(error);
    }
    // Each file read is tracked: a base checked out at another release rebuilds the crate.
    let track = reader.files.iter().filter_map(|file| {
        let file = fs::canonicalize(file).ok()?;
        let file = file.to_str()?.to_owned();
        Some(quote!(
            const _: &[u8] = ::core::include_bytes!(#file);
        ))
    });
    let alias = crate::krate::alias(&krate);
    Ok(quote! {
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
        const _: () = {
            #alias
            #conversions
        };
        #(#track)*
    })
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
        let header = Module {
            name: String::new(),
            cfg: Vec::new(),
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
            let header = |file: String| Module {
                name: name.clone(),
                cfg: cfg.clone(),
                vis: declaration.vis.clone(),
                items: Vec::new(),
                children: Vec::new(),
                file,
            };
            match declaration.content {
                Some((_, inner)) => {
                    let dir = dir.join(explicit.as_deref().unwrap_or(&name));
                    let child = self.items(header(module.file.clone()), inner, &dir, file, true)?;
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
                            let site = child.file.clone();
                            child = Module {
                                items: child.items,
                                children: child.children,
                                ..header(site)
                            };
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

/// An updateable global.
struct Global<'a> {
    module: Vec<String>,
    item: &'a syn::ItemStatic,
    was: Option<syn::Type>,
}

/// What the comparison reads of a crate.
#[derive(Default)]
struct Crate<'a> {
    /// Structs, enums and type aliases by path (several where `cfg`s choose one).
    defs: BTreeMap<Vec<String>, Vec<Def<'a>>>,
    modules: BTreeMap<Vec<String>, &'a Module>,
    /// Literal `const`s, which the copy has too.
    values: BTreeSet<Vec<String>>,
    globals: Vec<Global<'a>>,
    /// Types a `#[dsu::transform]` function or a `Transform` impl makes.
    converted: BTreeSet<Vec<String>>,
    /// Types whose `#[dsu::updateable(was = ..)]` derives their conversion.
    derived: BTreeSet<Vec<String>>,
}

impl<'a> Crate<'a> {
    fn of(root: &'a Module) -> Crate<'a> {
        let mut krate = Crate::default();
        krate.index(root, Vec::new(), true);
        let mut later = Vec::new();
        for (path, module) in &krate.modules {
            for item in &module.items {
                later.push((path.clone(), item));
            }
        }
        for (path, item) in later {
            krate.conversions(&path, item);
        }
        krate
    }

    fn index(&mut self, module: &'a Module, path: Vec<String>, nameable: bool) {
        self.modules.insert(path.clone(), module);
        let below = !path.is_empty();
        for item in &module.items {
            let mut key = path.clone();
            let (name, vis, fields) = match item {
                Item::Struct(s) => (&s.ident, &s.vis, Some(&s.fields)),
                Item::Enum(e) => (&e.ident, &e.vis, None),
                Item::Type(t) => (&t.ident, &t.vis, None),
                Item::Const(c) if literal(&c.expr) => {
                    key.push(c.ident.to_string());
                    self.values.insert(key);
                    continue;
                }
                Item::Static(global) if marked(&global.attrs) => {
                    let was = global.attrs.iter().find_map(|attr| {
                        let tokens = attr.meta.require_list().ok()?.tokens.clone();
                        crate::args::parse(Args::Updateable, tokens).ok()?.was.map(|(_, ty)| ty)
                    });
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

    /// Notes what `item`, in `module`, says of a type's conversion.
    fn conversions(&mut self, module: &[String], item: &Item) {
        let made = |ty: &syn::Type| match ty {
            syn::Type::Path(path) if path.qself.is_none() => self.resolve(module, &path.path),
            _ => None,
        };
        match item {
            Item::Fn(function) if function.attrs.iter().any(|a| last_is(a.path(), "transform")) => {
                if let syn::ReturnType::Type(_, ty) = &function.sig.output {
                    let made = made(ty);
                    self.converted.extend(made);
                }
            }
            Item::Impl(block) => {
                let is_transform =
                    block.trait_.as_ref().is_some_and(|(_, path, _)| last_is(path, "Transform"));
                if is_transform {
                    let made = made(&block.self_ty);
                    self.converted.extend(made);
                }
            }
            Item::Struct(syn::ItemStruct { attrs, ident, .. })
            | Item::Enum(syn::ItemEnum { attrs, ident, .. })
                if was(attrs) =>
            {
                let mut key = module.to_vec();
                key.push(ident.to_string());
                self.derived.insert(key);
            }
            _ => {}
        }
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
        self.resolve_segments(module, &segments, 0)
    }

    fn resolve_segments(
        &self,
        module: &[String],
        segments: &[String],
        depth: usize,
    ) -> Option<Vec<String>> {
        let first = segments.first()?;
        let mut at = module.to_vec();
        let mut rest = segments;
        if first == "crate" {
            at.clear();
            rest = &rest[1..];
        } else if first == "self" {
            rest = &rest[1..];
        }
        let qualified = rest.len() < segments.len() || rest.first().is_some_and(|s| s == "super");
        while rest.first().is_some_and(|s| s == "super") {
            at.pop()?;
            rest = &rest[1..];
        }
        if qualified {
            at.extend(rest.iter().cloned());
            return self.known(&at).then_some(at);
        }
        let mut here = module.to_vec();
        here.push(first.clone());
        if self.known(&here) {
            here.extend(segments[1..].iter().cloned());
            return self.known(&here).then_some(here);
        }
        // A name a `use` of the module binds to one of the crate's own paths.
        let target = self.uses(module).remove(first)?;
        if depth > 16 {
            return None;
        }
        let mut whole = target;
        whole.extend(segments[1..].iter().cloned());
        self.resolve_segments(module, &whole, depth + 1)
    }

    /// The names the `use` items of `module` bind, with their paths as written.
    fn uses(&self, module: &[String]) -> BTreeMap<String, Vec<String>> {
        fn leaves(
            tree: &syn::UseTree,
            prefix: &mut Vec<String>,
            out: &mut BTreeMap<String, Vec<String>>,
        ) {
            match tree {
                syn::UseTree::Path(path) => {
                    prefix.push(path.ident.to_string());
                    leaves(&path.tree, prefix, out);
                    prefix.pop();
                }
                syn::UseTree::Name(name) if name.ident == "self" => {
                    if let Some(last) = prefix.last() {
                        out.insert(last.clone(), prefix.clone());
                    }
                }
                syn::UseTree::Name(name) => {
                    let mut path = prefix.clone();
                    path.push(name.ident.to_string());
                    out.insert(name.ident.to_string(), path);
                }
                syn::UseTree::Rename(rename) => {
                    let mut path = prefix.clone();
                    path.push(rename.ident.to_string());
                    out.insert(rename.rename.to_string(), path);
                }
                syn::UseTree::Glob(_) => {}
                syn::UseTree::Group(group) => {
                    group.items.iter().for_each(|tree| leaves(tree, prefix, out));
                }
            }
        }
        let mut out = BTreeMap::new();
        for item in self.modules.get(module).map_or(&[][..], |m| &m.items) {
            if let Item::Use(declaration) = item {
                if declaration.leading_colon.is_none() {
                    leaves(&declaration.tree, &mut Vec::new(), &mut out);
                }
            }
        }
        out
    }

    /// The one definition of `path`, if it has exactly one.
    fn def(&self, path: &[String]) -> Option<&Def<'a>> {
        match self.defs.get(path).map(Vec::as_slice) {
            Some([def]) => Some(def),
            _ => None,
        }
    }

    /// The crate's own types that `ty`, written in `module`, names.
    fn named(&self, module: &[String], ty: &syn::Type) -> Vec<Vec<String>> {
        let mut paths = Paths(Vec::new());
        paths.visit_type(ty);
        paths.0.iter().filter_map(|path| self.resolve(module, path)).collect()
    }
}

/// The paths of the types in a type.
struct Paths(Vec<syn::Path>);

impl<'ast> Visit<'ast> for Paths {
    fn visit_type_path(&mut self, node: &'ast syn::TypePath) {
        if node.qself.is_none() {
            self.0.push(node.path.clone());
        }
        syn::visit::visit_type_path(self, node);
    }
}

fn last_is(path: &syn::Path, name: &str) -> bool {
    path.segments.last().is_some_and(|segment| segment.ident == name)
}

fn marked(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| last_is(attr.path(), "updateable"))
}

/// Whether `attrs` hold `#[updateable(was = ..)]`.
fn was(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().filter(|attr| last_is(attr.path(), "updateable")).any(|attr| {
        let Ok(list) = attr.meta.require_list() else { return false };
        crate::args::parse(Args::Updateable, list.tokens.clone())
            .is_ok_and(|args| args.was.is_some())
    })
}

/// Whether a `const`'s value is made of literals, other constants and operators, with no call:
/// the copy has such a `const` (an array length, a discriminant), and not code.
fn literal(expr: &syn::Expr) -> bool {
    match expr {
        syn::Expr::Lit(_) | syn::Expr::Path(_) => true,
        syn::Expr::Unary(unary) => literal(&unary.expr),
        syn::Expr::Binary(binary) => literal(&binary.left) && literal(&binary.right),
        syn::Expr::Paren(paren) => literal(&paren.expr),
        syn::Expr::Group(group) => literal(&group.expr),
        syn::Expr::Cast(cast) => literal(&cast.expr),
        _ => false,
    }
}

/// The std derives the copy keeps: they need nothing but std, and a transformer may use them.
const STD_DERIVES: &[&str] =
    &["Clone", "Copy", "Debug", "Default", "PartialEq", "Eq", "PartialOrd", "Ord", "Hash"];

/// The attributes of a copied type: `cfg`, `repr`, derives of std and `Fingerprint` with their
/// `#[dsu]`, and a `Fingerprint` for an updateable type.
fn type_attributes(attrs: &[syn::Attribute], krate: &syn::Path) -> Vec<syn::Attribute> {
    let mut kept = Vec::new();
    let mut updateable = false;
    for attr in attrs {
        let path = attr.path();
        if path.is_ident("cfg") || path.is_ident("repr") || path.is_ident("dsu") {
            kept.push(attr.clone());
        } else if path.is_ident("derive") {
            let Ok(derives) =
                attr.parse_args_with(Punctuated::<syn::Path, Token![,]>::parse_terminated)
            else {
                continue;
            };
            let derives: Vec<&syn::Path> = derives
                .iter()
                .filter(|path| {
                    let last =
                        path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
                    STD_DERIVES.contains(&last.as_str()) || last == "Fingerprint"
                })
                .collect();
            if !derives.is_empty() {
                kept.push(syn::parse_quote!(#[derive(#(#derives),*)]));
            }
        } else if last_is(path, "updateable") {
            updateable = true;
        }
    }
    if updateable {
        crate::derived_transform::with_fingerprint(krate, &mut kept);
    }
    kept
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
                    only(&mut variant.attrs, &["cfg", "default"]);
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
            Item::Const(item) if literal(&item.expr) => {
                let mut item = item.clone();
                only(&mut item.attrs, &["cfg"]);
                item.vis = public.clone();
                Item::Const(item)
            }
            Item::Use(item) => {
                let Some(tree) = copied_use(&item.tree, item.leading_colon.is_some(), old, path)
                else {
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
            Item::ExternCrate(item) => Item::ExternCrate(item.clone()),
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
) -> Option<syn::UseTree> {
    let first = match tree {
        syn::UseTree::Path(path) => path.ident.to_string(),
        syn::UseTree::Name(name) => name.ident.to_string(),
        syn::UseTree::Rename(rename) => rename.ident.to_string(),
        _ => return Some(tree.clone()),
    };
    let mut here = module.to_vec();
    here.push(first.clone());
    let local = matches!(first.as_str(), "crate" | "self" | "super") || old.known(&here);
    if leading_colon || !local {
        return Some(tree.clone());
    }
    fn keep(
        tree: &syn::UseTree,
        prefix: &mut Vec<String>,
        old: &Crate<'_>,
        module: &[String],
    ) -> Option<syn::UseTree> {
        match tree {
            syn::UseTree::Path(path) => {
                prefix.push(path.ident.to_string());
                let inner = keep(&path.tree, prefix, old, module);
                prefix.pop();
                let mut path = path.clone();
                path.tree = Box::new(inner?);
                Some(syn::UseTree::Path(path))
            }
            syn::UseTree::Name(name) => {
                let mut whole = prefix.clone();
                if name.ident != "self" {
                    whole.push(name.ident.to_string());
                }
                old.resolve_segments(module, &whole, 0).map(|_| tree.clone())
            }
            syn::UseTree::Rename(rename) => {
                let mut whole = prefix.clone();
                whole.push(rename.ident.to_string());
                old.resolve_segments(module, &whole, 0).map(|_| tree.clone())
            }
            syn::UseTree::Glob(_) => Some(tree.clone()),
            syn::UseTree::Group(group) => {
                let items: Punctuated<syn::UseTree, Token![,]> =
                    group.items.iter().filter_map(|tree| keep(tree, prefix, old, module)).collect();
                if items.is_empty() {
                    return None;
                }
                let mut group = group.clone();
                group.items = items;
                Some(syn::UseTree::Group(group))
            }
        }
    }
    keep(tree, &mut Vec::new(), old, module)
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

/// A definition as the comparison reads it and the errors show it: its `repr`, name, generics
/// and fields, without visibility, other attributes or docs.
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
            format!(
                "{}{name}{}",
                attrs(&field.attrs, &["cfg"]),
                tidy(&field.ty.to_token_stream().to_string())
            )
        };
        let all: Vec<String> = fields.iter().map(field).collect();
        match fields {
            Fields::Named(_) => format!(" {{ {} }}", all.join(", ")),
            Fields::Unnamed(_) => format!("({})", all.join(", ")),
            Fields::Unit => String::new(),
        }
    }
    let generics = |generics: &syn::Generics| {
        let clause = generics
            .where_clause
            .as_ref()
            .map(|w| format!(" {}", tidy(&w.to_token_stream().to_string())));
        (tidy(&generics.to_token_stream().to_string()), clause.unwrap_or_default())
    };
    match item {
        Item::Struct(item) => {
            let (generics, clause) = generics(&item.generics);
            let repr = attrs(&item.attrs, &["repr"]);
            format!("{repr}struct {}{generics}{clause}{}", item.ident, fields(&item.fields))
        }
        Item::Enum(item) => {
            let (generics, clause) = generics(&item.generics);
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
            format!("{repr}enum {}{generics}{clause} {{ {} }}", item.ident, variants.join(", "))
        }
        Item::Type(item) => {
            let (generics, _) = generics(&item.generics);
            format!(
                "type {}{generics} = {}",
                item.ident,
                tidy(&item.ty.to_token_stream().to_string())
            )
        }
        _ => String::new(),
    }
}

/// The two releases side by side.
struct Compare<'a, 'c> {
    old: &'c Crate<'a>,
    new: &'c Crate<'a>,
    /// The copy's module.
    name: &'c syn::Ident,
    krate: &'c syn::Path,
    /// The types written alike in both, with the conversion derived for each.
    derived: BTreeMap<Vec<String>, TokenStream>,
}

impl<'a, 'c> Compare<'a, 'c> {
    fn new(
        old: &'c Crate<'a>,
        new: &'c Crate<'a>,
        name: &'c syn::Ident,
        krate: &'c syn::Path,
    ) -> Self {
        let mut compare = Compare { old, new, name, krate, derived: BTreeMap::new() };
        for path in new.defs.keys() {
            if let Ok(conversion) = compare.unchanged_conversion(path) {
                compare.derived.insert(path.clone(), conversion);
            }
        }
        compare
    }

    fn tokens(path: &[String]) -> TokenStream {
        let idents = path.iter().map(|segment| format_ident!("{}", segment));
        quote!(#(#idents)::*)
    }

    /// The conversion of a type written alike in both releases, or why there is none.
    fn unchanged_conversion(&self, path: &[String]) -> Result<TokenStream, &'static str> {
        if self.new.converted.contains(path) || self.new.derived.contains(path) {
            return Err("it has its own");
        }
        let (Some(old), Some(new)) = (self.old.def(path), self.new.def(path)) else {
            return Err("it is not defined once in each release");
        };
        if definition(old.item) != definition(new.item) {
            return Err("it changed");
        }
        let old_attrs = match old.item {
            Item::Struct(item) => &item.attrs,
            Item::Enum(item) => &item.attrs,
            _ => return Err("it is not a struct or an enum"),
        };
        let fingerprinted = marked(old_attrs)
            || old_attrs.iter().any(|attr| {
                attr.path().is_ident("derive")
                    && attr.to_token_stream().to_string().contains("Fingerprint")
            });
        if !fingerprinted {
            return Err("the running release's type derives no `dsu::Fingerprint`");
        }
        if !new.nameable {
            return Err("it is not visible, with its fields, where dsu::base! is written");
        }
        let name = Self::tokens(path);
        let copy = self.name;
        let was = quote!(#copy::#name);
        match new.item {
            Item::Struct(item) if item.generics.params.is_empty() => match item.fields {
                Fields::Unnamed(_) => Err("it is a tuple struct"),
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
                        return Err(
                            "its fields name types dsu::base! cannot name where it is written",
                        );
                    }
                }
                Ok(crate::derived_transform::enum_conversion(self.krate, &item, &name, &was))
            }
            _ => Err("it is generic"),
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
                    for path in self.new.named(&global.module, &global.item.ty) {
                        self.needed(&path, &shown, &mut seen, &mut errors);
                    }
                }
                None => {
                    if let Some(error) = self.changed_without_was(old, global, &shown) {
                        errors.push(error);
                    }
                }
            }
        }
        let needed = seen.iter().filter_map(|path| self.derived.get(path)).cloned().collect();
        (errors, needed)
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
            match self.old.def(&path) {
                Some(old) if definition(old.item) == definition(new.item) => {}
                old => changed.push((path.clone(), old.map(|old| definition(old.item)), new)),
            }
            for ty in field_types(new.item) {
                queue.extend(self.new.named(&new.module, ty));
            }
        }
        if text(&old.item.ty) == text(&global.item.ty) && changed.is_empty() {
            return None;
        }
        let copy = self.name;
        let mut message = format!(
            "the type of the global `{shown}` changed since the running release (`{copy}`), and \
             nothing converts its value:"
        );
        if text(&old.item.ty) != text(&global.item.ty) {
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
                    let segments = path.iter().map(|s| format_ident!("{}", s));
                    let copy = self.copy;
                    let args = node.path.segments.last().map(|s| s.arguments.clone());
                    let root = if self.below { quote!(crate::#copy) } else { quote!(#copy) };
                    node.path = syn::parse_quote!(#root::#(#segments)::*);
                    if let (Some(last), Some(args)) = (node.path.segments.last_mut(), args) {
                        last.arguments = args;
                    }
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
        if !seen.insert(path.to_vec()) || self.new.converted.contains(path) {
            return;
        }
        let (Some(old), Some(new)) = (self.old.def(path), self.new.def(path)) else { return };
        let derived = self.new.derived.contains(path) || self.derived.contains_key(path);
        if let (Item::Type(_), Item::Type(alias)) = (old.item, new.item) {
            for inner in self.new.named(&new.module, &alias.ty) {
                self.needed(&inner, global, seen, errors);
            }
            return;
        }
        if !derived {
            let shown = path.join("::");
            let copy = self.name;
            // As the type's own module names the copy.
            let named = match new.module.is_empty() {
                true => format!("{copy}::{shown}"),
                false => format!("crate::{copy}::{shown}"),
            };
            let (old_text, new_text) = (definition(old.item), definition(new.item));
            let why = match self.unchanged_conversion(path) {
                Err("it changed") | Ok(_) => format!("`{shown}` changed since the running release (`{copy}`), and nothing converts it"),
                Err(why) => format!("`{shown}` is written alike in both releases, but dsu::base! cannot derive its conversion: {why}"),
            };
            errors.push(format!(
                "{why}; the conversion of the global `{global}` needs one:\n`{shown}` ({}):\n  {copy}: {old_text}\n  now: {new_text}\n\
                 derive it with `#[dsu::updateable(was = {named})]` on the type, or write a \
                 `#[dsu::transform]` function from `&{named}`",
                new.file
            ));
            return;
        }
        for ty in paired_fields(old.item, new.item) {
            for inner in self.new.named(&new.module, ty) {
                self.needed(&inner, global, seen, errors);
            }
        }
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
    fn visit_type_path_mut(&mut self, node: &mut syn::TypePath) {
        syn::visit_mut::visit_type_path_mut(self, node);
        if node.qself.is_some() || node.path.leading_colon.is_some() {
            return;
        }
        let args = node.path.segments.last().map(|s| s.arguments.clone());
        let first = node.path.segments[0].ident.to_string();
        let written: Vec<String> = node.path.segments.iter().map(|s| s.ident.to_string()).collect();
        let rooted: Vec<String> = if let Some(path) = self.krate.resolve(self.module, &node.path) {
            path
        } else if let Some(target) = self.krate.uses(self.module).remove(&first) {
            // Another crate's, through a `use`.
            let mut whole = target;
            whole.extend(written[1..].iter().cloned());
            if matches!(whole[0].as_str(), "crate" | "self" | "super") {
                self.failed = true;
                return;
            }
            let segments = whole.iter().map(|s| format_ident!("{}", s));
            node.path = syn::parse_quote!(::#(#segments)::*);
            if let (Some(last), Some(args)) = (node.path.segments.last_mut(), args) {
                last.arguments = args;
            }
            return;
        } else if written.len() == 1 && PRELUDE.contains(&first.as_str()) {
            return;
        } else if written.len() > 1 && !matches!(first.as_str(), "crate" | "self" | "super") {
            // Another crate's, by its name.
            return;
        } else {
            self.failed = true;
            return;
        };
        let segments = rooted.iter().map(|s| format_ident!("{}", s));
        node.path = syn::parse_quote!(#(#segments)::*);
        if let (Some(last), Some(args)) = (node.path.segments.last_mut(), args) {
            last.arguments = args;
        }
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
        let result = expand(quote!(v1 = "../../old"), Some(dir.join("new/src/lib.rs")));
        let _ = fs::remove_dir_all(&dir);
        result.map(|tokens| tidy(&tokens.to_string())).map_err(|error| {
            error.into_iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n---\n")
        })
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

    const ENTRY_DERIVED: &str = "#[dsu::updateable(was = v1::Entry)]
        pub struct Entry { value: String, kind: Kind, hits: u64 }";
    const STORE_WAS: &str = "#[dsu::updateable(was = Mutex<HashMap<String, v1::Entry>>)]";

    #[test]
    fn the_copy_has_the_types_all_public_with_the_uses_that_name_them() {
        let new = new_lib(ENTRY_DERIVED, STORE_WAS);
        let out = expanded(&[
            ("old/src/lib.rs", OLD_LIB),
            ("old/src/kind.rs", OLD_KIND),
            ("new/src/lib.rs", &new),
            ("new/src/kind.rs", OLD_KIND),
        ])
        .unwrap();
        let copy = &out[..out.find("const _ :()").unwrap()];
        for expected in [
            "use std::collections::HashMap;",
            "use self::kind::Kind;",
            "#[derive(dsu::Fingerprint, Clone)] pub struct Entry { pub value : String, pub kind : Kind }",
            "pub const WIDTH : usize = 8;",
            "pub const WIDER : usize =(WIDTH * 2) as usize;",
            "pub mod kind { #[derive(dsu::Fingerprint)] pub enum Kind",
            "pub mod deep { pub struct Note { pub at : super::super::kind::Kind } }",
        ] {
            assert!(copy.contains(expected), "{expected} in {copy}");
        }
        // Code, statics, a `const` that calls code, a use of code, other crates' derives and
        // their attributes, and a module the build leaves out are not copied.
        for unexpected in ["helper", "STORE", "COMPUTED", "serde", "gone"] {
            assert!(!copy.contains(unexpected), "{unexpected} in {copy}");
        }
    }

    #[test]
    fn a_type_written_alike_gets_the_derived_conversion_and_a_changed_one_does_not() {
        let new = new_lib(ENTRY_DERIVED, STORE_WAS);
        let out = expanded(&[
            ("old/src/lib.rs", OLD_LIB),
            ("old/src/kind.rs", OLD_KIND),
            ("new/src/lib.rs", &new),
            ("new/src/kind.rs", OLD_KIND),
        ])
        .unwrap();
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
        let error = expanded(&[
            ("old/src/lib.rs", OLD_LIB),
            ("old/src/kind.rs", OLD_KIND),
            ("new/src/lib.rs", &new),
            ("new/src/kind.rs", OLD_KIND),
        ])
        .unwrap_err();
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
        let error = expanded(&[
            ("old/src/lib.rs", OLD_LIB),
            ("old/src/kind.rs", OLD_KIND),
            ("new/src/lib.rs", &new),
            ("new/src/kind.rs", &kind),
        ])
        .unwrap_err();
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
            expanded(&[
                ("old/src/lib.rs", OLD_LIB),
                ("old/src/kind.rs", OLD_KIND),
                ("new/src/lib.rs", &new),
                ("new/src/kind.rs", &kind),
            ])
            .unwrap();
        }
        let kind = kind.replace(
            "#[derive(dsu::Fingerprint)]",
            "#[dsu::updateable(was = crate::v1::kind::Kind)]",
        );
        expanded(&[
            ("old/src/lib.rs", OLD_LIB),
            ("old/src/kind.rs", OLD_KIND),
            ("new/src/lib.rs", &new),
            ("new/src/kind.rs", &kind),
        ])
        .unwrap();
    }

    #[test]
    fn a_field_the_new_type_adds_needs_no_conversion() {
        let entry = "#[dsu::updateable(was = v1::Entry)]
            pub struct Entry { value: String, kind: Kind, note: kind::deep::Note }";
        let new = new_lib(entry, STORE_WAS);
        let kind = OLD_KIND.replace("at: crate::kind::Kind", "at: u8");
        expanded(&[
            ("old/src/lib.rs", OLD_LIB),
            ("old/src/kind.rs", OLD_KIND),
            ("new/src/lib.rs", &new),
            ("new/src/kind.rs", &kind),
        ])
        .unwrap();
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
