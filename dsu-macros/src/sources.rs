//! The walk of a crate's sources for `dsu::patch!()`'s graph (`graph.rs`): every module file
//! from the crate root, every function, method, `const`, `static` and macro in it, the
//! `cfg` each stands under, the fingerprint of its tokens (and of the files and environment
//! variables `include_str!` and `env!` read), and the names its code calls or names.
//!
//! The parse does not resolve paths: it keeps names, with the type or module they are
//! qualified by, and `graph.rs` links each to every item of the name. Code whose calls it
//! cannot see (a closure that may be stored, a function whose address is taken, a trait impl
//! that std or a dependency calls) becomes a root: code that may run without passing through
//! an updateable item.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::{Attribute, Expr, Token};

use crate::signature::tidy;

/// What an item of the graph is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Fn,
    Method,
    Const,
    /// A `static` whose value cannot change: a constant.
    Static,
    /// A `static` whose value can change (`static mut`, interior mutability, a thread-local,
    /// a lazy static): state, which each image has its own copy of.
    State,
    /// An `#[updateable] static`: the update carries its value.
    Global,
    /// A `macro_rules!` macro.
    Macro,
    /// A closure that may outlive the call that made it, or a function whose address is
    /// taken: code the parse cannot follow to its callers. Always a root.
    Escape,
    /// A macro invoked where items go, which may define items of any name it mentions.
    Invocation,
}

impl Kind {
    pub(crate) fn letter(self) -> char {
        match self {
            Kind::Fn => 'f',
            Kind::Method => 'm',
            Kind::Const => 'c',
            Kind::Static => 's',
            Kind::State => 'S',
            Kind::Global => 'g',
            Kind::Macro => 'M',
            Kind::Escape => 'x',
            Kind::Invocation => 'i',
        }
    }
}

/// A name an item's code uses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Ref {
    /// `f(..)`, `Type::f(..)`, `module::f(..)`: with the segment before the name.
    Call { name: String, qualifier: Option<String> },
    /// `x.f(..)`: any method of the name.
    Method(String),
    /// `m!(..)`.
    Macro(String),
    /// `f` as a value, not called here: its address may be stored.
    Value { name: String, qualifier: Option<String> },
    /// A name in tokens the parse could not read (a macro's): anything of the name.
    Any(String),
}

/// One item found in the sources.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) kind: Kind,
    /// As the runtime names it: `module_path!()` and the name, `Type::method`,
    /// `<Type as Trait>::method`, like the descriptors of updateable items.
    pub(crate) path: String,
    /// The name calls use.
    pub(crate) name: String,
    /// The type an impl's method belongs to, or the module of a function: what `q::name`
    /// narrows to.
    pub(crate) qualifier: Option<String>,
    /// The trait a method implements, by its last segment.
    pub(crate) trait_name: Option<String>,
    /// Whether that trait is named by a path into another crate (`std::fmt::Display`).
    pub(crate) trait_foreign: bool,
    pub(crate) updateable: bool,
    /// Declared `pub`: a function or method another crate may call.
    pub(crate) public: bool,
    /// Why code that no update switches may run it, if it may.
    pub(crate) root: Option<String>,
    /// The `cfg` predicates it stands under, all of which must hold.
    pub(crate) cfg: Vec<TokenStream>,
    pub(crate) fingerprint: u128,
    pub(crate) refs: BTreeSet<Ref>,
    /// Names the item may define (an invocation's).
    pub(crate) defines: Vec<String>,
    /// The file it is in, relative to the package.
    pub(crate) site: String,
}

/// Methods and functions that call the closure they are given before they return, so that
/// a closure passed to them straight is code of the caller.
const RUNS_NOW: &[&str] = &[
    "all",
    "and_modify",
    "and_then",
    "any",
    "binary_search_by",
    "binary_search_by_key",
    "catch_unwind",
    "chunk_by",
    "dedup_by",
    "dedup_by_key",
    "filter",
    "filter_map",
    "find",
    "find_map",
    "flat_map",
    "fold",
    "for_each",
    "get_or_init",
    "get_or_insert_with",
    "inspect",
    "is_none_or",
    "is_ok_and",
    "is_some_and",
    "map",
    "map_err",
    "map_or",
    "map_or_else",
    "map_while",
    "max_by",
    "max_by_key",
    "min_by",
    "min_by_key",
    "ok_or_else",
    "or_else",
    "or_insert_with",
    "or_insert_with_key",
    "partition",
    "position",
    "reduce",
    "retain",
    "retain_mut",
    "rposition",
    "scan",
    "scope",
    "skip_while",
    "sort_by",
    "sort_by_cached_key",
    "sort_by_key",
    "sort_unstable_by",
    "sort_unstable_by_key",
    "take_while",
    "then",
    "transaction",
    "try_fold",
    "try_for_each",
    "unwrap_or_else",
    "with",
    "with_borrow",
    "with_borrow_mut",
    "with_mut",
];

/// The walk's result: the items, and the names `use .. as ..` gives them.
#[derive(Debug, Default)]
pub(crate) struct Crate {
    pub(crate) nodes: Vec<Node>,
    /// `alias -> names`, from every `use path as alias`.
    pub(crate) renames: BTreeMap<String, BTreeSet<String>>,
    /// The traits the crate defines, by name.
    pub(crate) traits: BTreeSet<String>,
    /// The traits named as `dyn Trait` anywhere: their impls' methods are called through
    /// vtables a value may have carried from an older version.
    pub(crate) dyn_traits: BTreeSet<String>,
    /// Why the walk could not read the whole crate, if it could not: the graph would miss
    /// code, so it says it has none.
    pub(crate) incomplete: Option<String>,
    /// The files of the modules being walked, outermost first.
    open: Vec<PathBuf>,
}

/// Where a module's items are read from.
struct Module<'a> {
    /// The module's path, from the crate's name.
    path: Vec<String>,
    cfg: Vec<TokenStream>,
    /// The directory its `mod name;` files are found in.
    dir: PathBuf,
    /// The file its items are in, for `include_str!` and sites.
    file: &'a Path,
    /// Every item is a root: the program's binary, which no update replaces.
    binary: bool,
    /// What the module's `use` and `type` items make of a name, as text (`*` for globs): an
    /// item that names one changes with it.
    imports: BTreeMap<String, String>,
    /// An inline module (`mod name { .. }`), whose `#[path]`s are relative to its directory.
    inline: bool,
}

impl Crate {
    /// Walks the crate whose root file is `root`, named `name` in paths; `package` is the
    /// package's directory, which sites are relative to.
    pub(crate) fn walk_root(&mut self, package: &Path, root: &Path, name: &str, binary: bool) {
        let dir = root.parent().unwrap_or(package).to_owned();
        let path = vec![name.to_owned()];
        let imports = BTreeMap::new();
        let module =
            Module { path, cfg: Vec::new(), dir, file: root, binary, imports, inline: false };
        self.walk_file(package, root, &module);
    }

    fn walk_file(&mut self, package: &Path, file: &Path, module: &Module<'_>) {
        // A file that is its own module again (through `#[path]`) would be walked forever;
        // rustc refuses such a crate, and the graph says it has none.
        let canonical = fs::canonicalize(file).unwrap_or_else(|_| file.to_owned());
        if self.open.contains(&canonical) {
            let file = file.strip_prefix(package).unwrap_or(file).display();
            self.incomplete.get_or_insert(format!("{file} is a module of itself"));
            return;
        }
        let parsed = fs::read_to_string(file)
            .map_err(|error| error.to_string())
            .and_then(|text| syn::parse_file(&text).map_err(|error| error.to_string()));
        match parsed {
            Ok(parsed) => {
                self.open.push(canonical);
                self.items(package, &parsed.items, &module.clone_with(file));
                self.open.pop();
            }
            Err(error) => {
                let file = file.strip_prefix(package).unwrap_or(file).display();
                self.incomplete.get_or_insert(format!("{file} could not be read: {error}"));
            }
        }
    }

    fn items(&mut self, package: &Path, items: &[syn::Item], module: &Module<'_>) {
        let mut module = module.clone_with(module.file);
        module.imports = imports(items);
        for item in items {
            self.dyn_traits.extend(dyn_traits(&item.to_token_stream()));
        }
        for (index, item) in items.iter().enumerate() {
            self.item(package, item, &module, index);
        }
    }

    fn item(&mut self, package: &Path, item: &syn::Item, module: &Module<'_>, index: usize) {
        let attrs: &[Attribute] = match item {
            syn::Item::Fn(item) => &item.attrs,
            syn::Item::Impl(item) => &item.attrs,
            syn::Item::Const(item) => &item.attrs,
            syn::Item::Static(item) => &item.attrs,
            syn::Item::Macro(item) => &item.attrs,
            syn::Item::Mod(item) => &item.attrs,
            syn::Item::Trait(item) => &item.attrs,
            syn::Item::Use(item) => &item.attrs,
            _ => return,
        };
        let mut cfg = module.cfg.clone();
        cfg.extend(cfgs(attrs));
        let site = site(package, module.file);
        let qualified = |name: &str| format!("{}::{name}", module.path.join("::"));
        let base = |kind, name: String, path: String| Node {
            kind,
            path,
            name,
            qualifier: module.path.last().cloned(),
            trait_name: None,
            trait_foreign: false,
            updateable: marked(attrs),
            public: false,
            root: module.binary.then(|| "the program's binary".to_owned()),
            cfg: cfg.clone(),
            fingerprint: 0,
            refs: BTreeSet::new(),
            defines: Vec::new(),
            site: site.clone(),
        };
        match item {
            syn::Item::Fn(function) => {
                let name = function.sig.ident.to_string();
                let mut node = base(Kind::Fn, name.clone(), qualified(&name));
                node.public = matches!(function.vis, syn::Visibility::Public(_));
                if exported(attrs) || function.sig.abi.is_some() {
                    node.root.get_or_insert_with(|| "exported to foreign code".to_owned());
                }
                if attrs.iter().any(|attr| attr.path().is_ident("test")) {
                    node.cfg.push(quote!(test));
                }
                let (sig, block) = (&function.sig, &function.block);
                let attrs = code_attributes(attrs);
                self.code(package, module, node, quote!(#(#attrs)* #sig #block), |refs| {
                    refs.visit_signature(&function.sig);
                    refs.visit_block(&function.block);
                });
            }
            syn::Item::Impl(block) => {
                let self_text = tidy(&block.self_ty.to_token_stream().to_string());
                let self_name = type_name(&block.self_ty);
                let trait_text = block.trait_.as_ref().map(|(_, path, _)| {
                    let last = path.segments.last().expect("a trait path has a segment");
                    tidy(&last.to_token_stream().to_string())
                });
                let trait_name = block
                    .trait_
                    .as_ref()
                    .and_then(|(_, path, _)| path.segments.last())
                    .map(|segment| segment.ident.to_string());
                let trait_foreign = block.trait_.as_ref().is_some_and(|(_, path, _)| {
                    let first = path.segments.first().map(|s| s.ident.to_string());
                    path.segments.len() > 1
                        && !matches!(first.as_deref(), Some("crate" | "self" | "super"))
                });
                let whole = marked(attrs);
                let block_attrs = code_attributes(attrs);
                for member in &block.items {
                    let (name, member_attrs) = match member {
                        syn::ImplItem::Fn(method) => (method.sig.ident.to_string(), &method.attrs),
                        syn::ImplItem::Const(constant) => {
                            (constant.ident.to_string(), &constant.attrs)
                        }
                        _ => continue,
                    };
                    let path = match &trait_text {
                        Some(trait_text) => format!(
                            "<{}::{self_text} as {trait_text}>::{name}",
                            module.path.join("::")
                        ),
                        None => format!("{}::{self_text}::{name}", module.path.join("::")),
                    };
                    let kind = match member {
                        syn::ImplItem::Fn(_) => Kind::Method,
                        _ => Kind::Const,
                    };
                    let mut node = base(kind, name, path);
                    node.public = match member {
                        syn::ImplItem::Fn(method) => {
                            matches!(method.vis, syn::Visibility::Public(_))
                                || block.trait_.is_some()
                        }
                        _ => false,
                    };
                    node.cfg.extend(cfgs(member_attrs));
                    node.qualifier = self_name.clone();
                    node.trait_name = trait_name.clone();
                    node.trait_foreign = trait_foreign;
                    node.updateable = kind == Kind::Method
                        && (marked(member_attrs) && !skipped(member_attrs)
                            || whole && !skipped(member_attrs));
                    let self_ty = &block.self_ty;
                    let trait_path = block.trait_.as_ref().map(|(_, path, _)| path);
                    let member_attrs = code_attributes(member_attrs);
                    let attrs = block_attrs.iter().chain(&member_attrs);
                    let tokens = match member {
                        syn::ImplItem::Fn(method) => {
                            let (sig, body) = (&method.sig, &method.block);
                            quote!(#(#attrs)* #self_ty #trait_path #sig #body)
                        }
                        syn::ImplItem::Const(constant) => {
                            let (ty, expr) = (&constant.ty, &constant.expr);
                            quote!(#self_ty #trait_path const #ty = #expr)
                        }
                        _ => continue,
                    };
                    let self_name = self_name.clone();
                    self.code(package, module, node, tokens, |refs| {
                        refs.self_name = self_name;
                        match member {
                            syn::ImplItem::Fn(method) => {
                                refs.visit_signature(&method.sig);
                                refs.visit_block(&method.block);
                            }
                            syn::ImplItem::Const(constant) => refs.visit_expr(&constant.expr),
                            _ => {}
                        }
                    });
                }
            }
            syn::Item::Trait(definition) => {
                let trait_name = definition.ident.to_string();
                self.traits.insert(trait_name.clone());
                let public = matches!(definition.vis, syn::Visibility::Public(_));
                for member in &definition.items {
                    if let syn::TraitItem::Const(syn::TraitItemConst {
                        attrs: member_attrs,
                        ident,
                        ty,
                        default: Some((_, expr)),
                        ..
                    }) = member
                    {
                        let name = ident.to_string();
                        let path = format!("{}::{trait_name}::{name}", module.path.join("::"));
                        let mut node = base(Kind::Const, name, path);
                        node.cfg.extend(cfgs(member_attrs));
                        node.qualifier = Some(trait_name.clone());
                        node.updateable = false;
                        node.public = public;
                        self.code(package, module, node, quote!(#ty = #expr), |refs| {
                            refs.visit_expr(expr)
                        });
                        continue;
                    }
                    let syn::TraitItemFn { attrs: member_attrs, sig, default: Some(body), .. } =
                        (match member {
                            syn::TraitItem::Fn(method) => method,
                            _ => continue,
                        })
                    else {
                        continue;
                    };
                    let name = sig.ident.to_string();
                    let path = format!("{}::{trait_name}::{name}", module.path.join("::"));
                    let mut node = base(Kind::Method, name, path);
                    node.cfg.extend(cfgs(member_attrs));
                    node.qualifier = Some(trait_name.clone());
                    node.updateable = false;
                    node.public = public;
                    self.code(package, module, node, quote!(#sig #body), |refs| {
                        refs.visit_signature(sig);
                        refs.visit_block(body);
                    });
                }
            }
            syn::Item::Const(constant) => {
                let name = constant.ident.to_string();
                let mut node = base(Kind::Const, name.clone(), qualified(&name));
                node.public = matches!(constant.vis, syn::Visibility::Public(_));
                let (ty, expr) = (&constant.ty, &constant.expr);
                self.code(package, module, node, quote!(#ty = #expr), |refs| refs.visit_expr(expr));
            }
            syn::Item::Static(definition) => {
                let name = definition.ident.to_string();
                let kind = if marked(attrs) {
                    Kind::Global
                } else if matches!(definition.mutability, syn::StaticMutability::Mut(_))
                    || !constant_type(&definition.ty)
                {
                    Kind::State
                } else {
                    Kind::Static
                };
                let mut node = base(kind, name.clone(), qualified(&name));
                node.public = matches!(definition.vis, syn::Visibility::Public(_));
                let (mutability, ty, expr) =
                    (&definition.mutability, &definition.ty, &definition.expr);
                self.code(package, module, node, quote!(#mutability #ty = #expr), |refs| {
                    refs.visit_expr(expr)
                });
            }
            syn::Item::Macro(invocation) => {
                let name = invocation
                    .mac
                    .path
                    .segments
                    .last()
                    .map(|segment| segment.ident.to_string())
                    .unwrap_or_default();
                let tokens = &invocation.mac.tokens;
                match (name.as_str(), &invocation.ident) {
                    ("macro_rules", Some(ident)) => {
                        let name = ident.to_string();
                        let path = format!("{}::{name}!", module.path.join("::"));
                        let mut node = base(Kind::Macro, name, path);
                        node.updateable = false;
                        node.root = None;
                        node.public = attrs.iter().any(|attr| attr.path().is_ident("macro_export"));
                        node.fingerprint = crate::hash::of_tokens(tokens);
                        node.refs = idents(tokens).map(Ref::Any).collect();
                        self.nodes.push(node);
                    }
                    // dsu's own: the manifest, which the runtime compares itself.
                    ("patch", _) => {}
                    ("thread_local" | "lazy_static" | "task_local", _) => {
                        for state in declared_statics(tokens) {
                            let mut node = base(Kind::State, state.clone(), qualified(&state));
                            node.updateable = false;
                            node.fingerprint = crate::hash::of_tokens(tokens);
                            node.refs = idents(tokens).map(Ref::Any).collect();
                            self.nodes.push(node);
                        }
                    }
                    _ => {
                        let path = format!("{}::{name}!#{index}", module.path.join("::"));
                        let mut node = base(Kind::Invocation, name.clone(), path);
                        node.updateable = false;
                        node.fingerprint =
                            crate::hash::of_tokens(&invocation.mac.to_token_stream());
                        node.defines = idents(tokens).collect();
                        node.refs = idents(tokens).map(Ref::Any).collect();
                        node.refs.insert(Ref::Macro(name));
                        // The impls it writes may be of traits std or a dependency calls.
                        if node.defines.iter().any(|name| name == "impl") {
                            node.root.get_or_insert_with(|| {
                                "impls a macro writes, which std or a dependency may call"
                                    .to_owned()
                            });
                        }
                        self.nodes.push(node);
                    }
                }
            }
            syn::Item::Mod(definition) => {
                let name = definition.ident.to_string();
                let mut path = module.path.clone();
                path.push(name.clone());
                let explicit = attrs.iter().find_map(path_attribute);
                match &definition.content {
                    Some((_, items)) => {
                        let dir = match &explicit {
                            Some(explicit) => module.dir.join(explicit),
                            None => module.dir.join(&name),
                        };
                        let inner = Module {
                            path,
                            cfg,
                            dir,
                            file: module.file,
                            binary: module.binary,
                            imports: BTreeMap::new(),
                            inline: true,
                        };
                        self.items(package, items, &inner);
                    }
                    None => {
                        let found = module_file(
                            &module.dir,
                            &module.file_dir(),
                            module.inline,
                            &name,
                            explicit.as_deref(),
                        );
                        // No file: a module the build leaves out (rustc would have failed
                        // otherwise), or one found where the walk does not look.
                        let Some((file, dir)) = found else {
                            if cfg.len() == module.cfg.len() {
                                let at = module.path.join("::");
                                self.incomplete.get_or_insert(format!(
                                    "the file of `{at}::{name}` was not found"
                                ));
                            }
                            return;
                        };
                        let inner = Module {
                            path,
                            cfg,
                            dir,
                            file: &file,
                            binary: module.binary,
                            imports: BTreeMap::new(),
                            inline: false,
                        };
                        self.walk_file(package, &file, &inner);
                    }
                }
            }
            syn::Item::Use(declaration) => renames(&declaration.tree, &mut self.renames),
            _ => {}
        }
    }

    /// Adds `node`, with the fingerprint of `tokens` and of what `include_str!` and `env!`
    /// read in them, the names `visit` finds, and a root for each closure that may be stored.
    fn code(
        &mut self,
        package: &Path,
        module: &Module<'_>,
        mut node: Node,
        tokens: TokenStream,
        visit: impl FnOnce(&mut Refs<'_>),
    ) {
        let mut refs = Refs::new(package, module.file);
        visit(&mut refs);
        let mut text = tokens.to_string().into_bytes();
        text.extend(&refs.read);
        text.extend(module.context_of(&tokens));
        node.fingerprint = crate::hash::of_bytes(&text);
        node.refs = std::mem::take(&mut refs.refs);
        self.dyn_traits.extend(std::mem::take(&mut refs.dyns));
        for (index, escape) in refs.escapes.into_iter().enumerate() {
            self.nodes.push(Node {
                kind: Kind::Escape,
                path: format!("{}::{{{}#{index}}}", node.path, escape.what),
                name: String::new(),
                qualifier: None,
                trait_name: None,
                trait_foreign: false,
                updateable: false,
                public: false,
                root: Some(format!("{} in `{}`", escape.what, node.path)),
                cfg: node.cfg.clone(),
                fingerprint: escape.fingerprint,
                refs: escape.refs,
                defines: Vec::new(),
                site: node.site.clone(),
            });
        }
        for state in refs.states {
            self.nodes.push(Node {
                kind: Kind::State,
                path: format!("{}::{state}", node.path),
                name: state.clone(),
                qualifier: None,
                trait_name: None,
                trait_foreign: false,
                updateable: false,
                public: false,
                root: None,
                cfg: node.cfg.clone(),
                fingerprint: 0,
                refs: BTreeSet::new(),
                defines: Vec::new(),
                site: node.site.clone(),
            });
            node.refs.insert(Ref::Any(state));
        }
        self.nodes.push(node);
    }
}

impl Module<'_> {
    fn clone_with<'b>(&self, file: &'b Path) -> Module<'b> {
        Module {
            path: self.path.clone(),
            cfg: self.cfg.clone(),
            dir: self.dir.clone(),
            file,
            binary: self.binary,
            imports: self.imports.clone(),
            inline: self.inline,
        }
    }

    /// The text of what the module's `use` and `type` items make of the names in `tokens`,
    /// and of its glob imports, for the fingerprint of an item of these tokens.
    fn context_of(&self, tokens: &TokenStream) -> Vec<u8> {
        let mut text = Vec::new();
        let names: BTreeSet<String> = idents(tokens).collect();
        for (name, import) in &self.imports {
            if name == "*" || names.contains(name) {
                text.extend(format!("\0{name}={import}").into_bytes());
            }
        }
        text
    }

    /// The directory of the file the module's items are in, which `#[path]` is relative to.
    fn file_dir(&self) -> PathBuf {
        self.file.parent().map(Path::to_owned).unwrap_or_default()
    }
}

/// A closure or a function address the parse cannot follow.
struct Escape {
    what: &'static str,
    /// Of its tokens: a change of it is a change of code made before the update may keep.
    fingerprint: u128,
    refs: BTreeSet<Ref>,
}

/// The names one item's code uses.
struct Refs<'a> {
    package: &'a Path,
    file: &'a Path,
    refs: BTreeSet<Ref>,
    escapes: Vec<Escape>,
    /// Plain statics declared in the body, which are state too.
    states: Vec<String>,
    /// What `include_str!` and `env!` read, which the fingerprint covers.
    read: Vec<u8>,
    /// The type `Self` is, in an impl.
    self_name: Option<String>,
    /// The traits its code names as `dyn Trait`.
    dyns: BTreeSet<String>,
    /// The names patterns bind in the item (parameters, `let`s, arms): a path of one of these
    /// names is a variable, not a function named as a value.
    locals: BTreeSet<String>,
}

impl<'a> Refs<'a> {
    fn new(package: &'a Path, file: &'a Path) -> Refs<'a> {
        Refs {
            package,
            file,
            refs: BTreeSet::new(),
            escapes: Vec::new(),
            states: Vec::new(),
            read: Vec::new(),
            self_name: None,
            dyns: BTreeSet::new(),
            locals: BTreeSet::new(),
        }
    }

    /// `segment::name` of a path, `Self` as the impl's type.
    fn split(&self, path: &syn::Path) -> Option<(String, Option<String>)> {
        let mut segments = path.segments.iter().rev();
        let name = segments.next()?.ident.to_string();
        let qualifier = segments.next().map(|segment| match segment.ident.to_string() {
            own if own == "Self" => self.self_name.clone().unwrap_or(own),
            other => other,
        });
        Some((name, qualifier))
    }

    /// Visits the code of `expr` as code that may outlive this call: its names are this
    /// item's, and a root's.
    fn escaping(
        &mut self,
        what: &'static str,
        tokens: &TokenStream,
        visit: impl FnOnce(&mut Self),
    ) {
        let before = std::mem::take(&mut self.refs);
        visit(self);
        let inner = std::mem::replace(&mut self.refs, before);
        self.refs.extend(inner.iter().cloned());
        let fingerprint = crate::hash::of_tokens(tokens);
        self.escapes.push(Escape { what, fingerprint, refs: inner });
    }

    /// An argument of a call to `callee`: a closure or a function named there runs during the
    /// call if the callee is one of `RUNS_NOW`.
    fn argument(&mut self, callee: &str, argument: &Expr) {
        let now = RUNS_NOW.contains(&callee);
        match argument {
            Expr::Closure(closure) if now => self.visit_expr(&closure.body),
            Expr::Path(path) if now => {
                if let Some((name, qualifier)) = self.split(&path.path) {
                    self.refs.insert(Ref::Call { name, qualifier });
                }
            }
            other => self.visit_expr(other),
        }
    }

    /// A macro's tokens: read as arguments if they are expressions, else every name in them.
    fn macro_tokens(&mut self, mac: &syn::Macro) {
        let Some(name) = mac.path.segments.last().map(|s| s.ident.to_string()) else { return };
        self.refs.insert(Ref::Macro(name.clone()));
        match name.as_str() {
            "include_str" | "include_bytes" | "include" => {
                let relative = evaluate(&mac.tokens);
                let dir = self.file.parent().unwrap_or(self.package);
                match relative.map(|relative| fs::read(dir.join(relative))) {
                    Some(Ok(bytes)) => self.read.extend(bytes),
                    _ => self.read.extend(b"\0unreadable"),
                }
                return;
            }
            "env" | "option_env" => {
                let value = syn::parse2::<syn::LitStr>(first_argument(&mac.tokens))
                    .ok()
                    .and_then(|var| std::env::var_os(var.value()));
                self.read.extend(value.as_ref().map(|v| v.as_encoded_bytes()).unwrap_or(b"\0"));
                self.read.push(0);
                return;
            }
            _ => {}
        }
        // `format!("{GREETING}")`: the names a format string captures.
        self.refs.extend(captured(&mac.tokens).map(Ref::Any));
        let parser = Punctuated::<Expr, Token![,]>::parse_terminated;
        match syn::parse::Parser::parse2(parser, mac.tokens.clone()) {
            Ok(arguments) => {
                for argument in &arguments {
                    self.visit_expr(argument);
                }
            }
            Err(_) => {
                let names: BTreeSet<Ref> = idents(&mac.tokens).map(Ref::Any).collect();
                let closures = mac.tokens.clone().into_iter().any(|tree| {
                    matches!(&tree, TokenTree::Punct(p) if p.as_char() == '|')
                        || matches!(&tree, TokenTree::Ident(i) if i == "move")
                });
                if closures {
                    self.escaping("a closure in a macro", &mac.tokens, |refs| {
                        refs.refs.extend(names.clone())
                    });
                } else {
                    self.refs.extend(names);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Refs<'_> {
    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        let callee = match &*call.func {
            Expr::Path(path) => match self.split(&path.path) {
                Some((name, qualifier)) => {
                    self.refs.insert(Ref::Call { name: name.clone(), qualifier });
                    name
                }
                None => String::new(),
            },
            other => {
                self.visit_expr(other);
                String::new()
            }
        };
        for argument in &call.args {
            self.argument(&callee, argument);
        }
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let name = call.method.to_string();
        self.refs.insert(Ref::Method(name.clone()));
        self.visit_expr(&call.receiver);
        for argument in &call.args {
            self.argument(&name, argument);
        }
    }

    fn visit_expr_closure(&mut self, closure: &'ast syn::ExprClosure) {
        let tokens = closure.to_token_stream();
        self.escaping("a closure that may be stored", &tokens, |refs| {
            refs.visit_expr(&closure.body)
        });
    }

    fn visit_expr_async(&mut self, block: &'ast syn::ExprAsync) {
        let tokens = block.to_token_stream();
        self.escaping("an async block that may be stored", &tokens, |refs| {
            refs.visit_block(&block.block)
        });
    }

    fn visit_expr_await(&mut self, awaited: &'ast syn::ExprAwait) {
        // An async block awaited where it is made runs in this code.
        match &*awaited.base {
            Expr::Async(block) => self.visit_block(&block.block),
            other => self.visit_expr(other),
        }
    }

    fn visit_type_trait_object(&mut self, object: &'ast syn::TypeTraitObject) {
        for bound in &object.bounds {
            if let syn::TypeParamBound::Trait(bound) = bound {
                self.dyns.extend(bound.path.segments.last().map(|s| s.ident.to_string()));
            }
        }
        syn::visit::visit_type_trait_object(self, object);
    }

    fn visit_stmt_macro(&mut self, statement: &'ast syn::StmtMacro) {
        let name = statement.mac.path.segments.last().map(|s| s.ident.to_string());
        match name.as_deref() {
            Some("thread_local" | "lazy_static" | "task_local") => {
                self.states.extend(declared_statics(&statement.mac.tokens));
                self.refs.extend(idents(&statement.mac.tokens).map(Ref::Any));
            }
            _ => self.macro_tokens(&statement.mac),
        }
    }

    fn visit_pat_ident(&mut self, pattern: &'ast syn::PatIdent) {
        self.locals.insert(pattern.ident.to_string());
        syn::visit::visit_pat_ident(self, pattern);
    }

    fn visit_expr_path(&mut self, path: &'ast syn::ExprPath) {
        if let Some(variable) = path.path.get_ident() {
            if self.locals.contains(&variable.to_string()) {
                return;
            }
        }
        if let Some((name, qualifier)) = self.split(&path.path) {
            self.refs.insert(Ref::Value { name, qualifier });
        }
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.macro_tokens(mac);
    }

    fn visit_item(&mut self, item: &'ast syn::Item) {
        match item {
            syn::Item::Static(definition) if !marked(&definition.attrs) => {
                let state = matches!(definition.mutability, syn::StaticMutability::Mut(_))
                    || !constant_type(&definition.ty);
                if state {
                    self.states.push(definition.ident.to_string());
                }
                syn::visit::visit_item_static(self, definition);
            }
            syn::Item::Macro(invocation)
                if invocation.mac.path.segments.last().is_some_and(|segment| {
                    ["thread_local", "lazy_static", "task_local"]
                        .iter()
                        .any(|name| segment.ident == name)
                }) =>
            {
                self.states.extend(declared_statics(&invocation.mac.tokens));
                self.refs.extend(idents(&invocation.mac.tokens).map(Ref::Any));
            }
            other => syn::visit::visit_item(self, other),
        }
    }
}

/// The attributes of an item that may change what its code does: all but doc comments,
/// `cfg`s (the graph has them) and dsu's own.
fn code_attributes(attrs: &[Attribute]) -> Vec<&Attribute> {
    attrs
        .iter()
        .filter(|attr| {
            let last = attr.path().segments.last().map(|s| s.ident.to_string());
            !matches!(last.as_deref(), Some("doc" | "cfg" | "updateable"))
        })
        .collect()
}

/// What the `use` and `type` items of a module make of each name they bind, as text; every
/// glob import under `*`.
fn imports(items: &[syn::Item]) -> BTreeMap<String, String> {
    fn leaves(tree: &syn::UseTree, prefix: &str, out: &mut BTreeMap<String, String>) {
        match tree {
            syn::UseTree::Path(path) => {
                leaves(&path.tree, &format!("{prefix}{}::", path.ident), out);
            }
            syn::UseTree::Name(name) => {
                out.insert(name.ident.to_string(), format!("{prefix}{}", name.ident));
            }
            syn::UseTree::Rename(rename) => {
                out.insert(rename.rename.to_string(), format!("{prefix}{}", rename.ident));
            }
            syn::UseTree::Glob(_) => {
                out.entry("*".to_owned()).or_default().push_str(&format!("{prefix}*;"));
            }
            syn::UseTree::Group(group) => {
                group.items.iter().for_each(|tree| leaves(tree, prefix, out));
            }
        }
    }
    let mut out = BTreeMap::new();
    for item in items {
        match item {
            syn::Item::Use(declaration) => {
                let attrs = &declaration.attrs;
                let mut bound = BTreeMap::new();
                leaves(&declaration.tree, "", &mut bound);
                for (name, text) in bound {
                    let text = format!("{}{text}", quote!(#(#attrs)*));
                    out.entry(name).or_insert_with(String::new).push_str(&text);
                }
            }
            syn::Item::Type(alias) => {
                let text = alias.to_token_stream().to_string();
                out.entry(alias.ident.to_string()).or_insert_with(String::new).push_str(&text);
            }
            _ => {}
        }
    }
    out
}

/// The traits `tokens` name as `dyn Trait`, by their last segment.
fn dyn_traits(tokens: &TokenStream) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    fn walk(tokens: TokenStream, found: &mut BTreeSet<String>) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        for (index, tree) in trees.iter().enumerate() {
            match tree {
                TokenTree::Ident(ident) if ident == "dyn" => {
                    // The path after it: its last identifier before anything else.
                    let mut last = None;
                    for next in &trees[index + 1..] {
                        match next {
                            TokenTree::Ident(name) => last = Some(name.to_string()),
                            TokenTree::Punct(p) if p.as_char() == ':' => {}
                            _ => break,
                        }
                    }
                    found.extend(last);
                }
                TokenTree::Group(group) => walk(group.stream(), found),
                _ => {}
            }
        }
    }
    walk(tokens.clone(), &mut found);
    found
}

/// The names the format strings in `tokens` capture: `x` of `"{x}"` and `"{x:?}"`.
fn captured(tokens: &TokenStream) -> impl Iterator<Item = String> {
    let mut found = BTreeSet::new();
    for tree in tokens.clone() {
        let TokenTree::Literal(literal) = tree else { continue };
        let Ok(text) = syn::parse_str::<syn::LitStr>(&literal.to_string()) else { continue };
        let text = text.value();
        let mut rest = text.as_str();
        while let Some(open) = rest.find('{') {
            rest = &rest[open + 1..];
            if let Some(after) = rest.strip_prefix('{') {
                rest = after;
                continue;
            }
            let name: String =
                rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') {
                found.insert(name);
            }
        }
    }
    found.into_iter()
}

/// The `cfg` predicates of `attrs`: each `#[cfg(..)]`, and `#[test]` as `cfg(test)`.
fn cfgs(attrs: &[Attribute]) -> Vec<TokenStream> {
    attrs
        .iter()
        .filter(|attr| attr.path().is_ident("cfg"))
        .filter_map(|attr| attr.parse_args::<TokenStream>().ok())
        .collect()
}

/// Whether `attrs` make the item updateable: an attribute named `updateable`.
fn marked(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| attr.path().segments.last().is_some_and(|s| s.ident == "updateable"))
}

/// Whether `attrs` hold `#[updateable(skip)]`.
fn skipped(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().segments.last().is_some_and(|s| s.ident == "updateable")
            && attr.parse_args::<syn::Ident>().is_ok_and(|arg| arg == "skip")
    })
}

/// `#[no_mangle]`, `#[export_name]`: code foreign code may call.
fn exported(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| {
        let unsafe_inner = attr.parse_args::<syn::Meta>().ok();
        let path = |meta: &syn::Meta| {
            meta.path().is_ident("no_mangle") || meta.path().is_ident("export_name")
        };
        path(&attr.meta)
            || (attr.path().is_ident("unsafe") && unsafe_inner.is_some_and(|m| path(&m)))
    })
}

/// `#[path = ".."]`.
pub(crate) fn path_attribute(attr: &Attribute) -> Option<String> {
    match &attr.meta {
        syn::Meta::NameValue(pair) if pair.path.is_ident("path") => match &pair.value {
            Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(text), .. }) => Some(text.value()),
            _ => None,
        },
        _ => None,
    }
}

/// The last name of a type's path (`Session` of `Session<T>`).
fn type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
        syn::Type::Reference(reference) => type_name(&reference.elem),
        _ => None,
    }
}

/// Whether a `static` of type `ty` can hold nothing but its initial value: numbers, `bool`,
/// `char`, `&str`, and arrays, slices, references and tuples of them. Any other type may
/// have interior mutability, so that its static is state.
fn constant_type(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(path) if path.qself.is_none() => {
            let primitives = [
                "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128",
                "isize", "f32", "f64", "bool", "char", "str",
            ];
            path.path.get_ident().is_some_and(|ident| primitives.iter().any(|p| ident == p))
        }
        syn::Type::Reference(reference) => {
            reference.mutability.is_none() && constant_type(&reference.elem)
        }
        syn::Type::Array(array) => constant_type(&array.elem),
        syn::Type::Slice(slice) => constant_type(&slice.elem),
        syn::Type::Tuple(tuple) => tuple.elems.iter().all(constant_type),
        syn::Type::Paren(inner) => constant_type(&inner.elem),
        _ => false,
    }
}

/// The names `static NAME` and `static ref NAME` declare in a `thread_local!` or
/// `lazy_static!`.
fn declared_statics(tokens: &TokenStream) -> Vec<String> {
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    let mut found = Vec::new();
    for (index, tree) in trees.iter().enumerate() {
        if !matches!(tree, TokenTree::Ident(ident) if ident == "static") {
            continue;
        }
        let rest = trees[index + 1..]
            .iter()
            .filter(|t| !matches!(t, TokenTree::Ident(i) if i == "ref" || i == "mut"));
        if let Some(TokenTree::Ident(name)) = rest.into_iter().next() {
            found.push(name.to_string());
        }
    }
    found
}

/// Every identifier in `tokens`, groups included.
pub(crate) fn idents(tokens: &TokenStream) -> impl Iterator<Item = String> {
    let mut found = BTreeSet::new();
    fn walk(tokens: TokenStream, found: &mut BTreeSet<String>) {
        for tree in tokens {
            match tree {
                TokenTree::Ident(ident) => {
                    found.insert(ident.to_string());
                }
                TokenTree::Group(group) => walk(group.stream(), found),
                _ => {}
            }
        }
    }
    walk(tokens.clone(), &mut found);
    found.into_iter()
}

/// The tokens of a macro's first argument.
fn first_argument(tokens: &TokenStream) -> TokenStream {
    tokens
        .clone()
        .into_iter()
        .take_while(|tree| !matches!(tree, TokenTree::Punct(p) if p.as_char() == ','))
        .collect()
}

/// The text `include_str!`'s argument makes: a literal, or a `concat!` of literals and
/// `env!`s. `None` if it is anything else.
fn evaluate(tokens: &TokenStream) -> Option<String> {
    let expr: Expr = syn::parse2(tokens.clone()).ok()?;
    fn text(expr: &Expr) -> Option<String> {
        match expr {
            Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(text), .. }) => Some(text.value()),
            Expr::Macro(mac) => {
                let name = mac.mac.path.segments.last()?.ident.to_string();
                match name.as_str() {
                    "concat" => {
                        let parser = Punctuated::<Expr, Token![,]>::parse_terminated;
                        let parts =
                            syn::parse::Parser::parse2(parser, mac.mac.tokens.clone()).ok()?;
                        parts.iter().map(text).collect()
                    }
                    "env" => {
                        let var: syn::LitStr = syn::parse2(first_argument(&mac.mac.tokens)).ok()?;
                        std::env::var(var.value()).ok()
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }
    text(&expr)
}

/// `use a::b as c;` gives `c -> b`.
fn renames(tree: &syn::UseTree, out: &mut BTreeMap<String, BTreeSet<String>>) {
    match tree {
        syn::UseTree::Path(path) => renames(&path.tree, out),
        syn::UseTree::Rename(rename) => {
            out.entry(rename.rename.to_string()).or_default().insert(rename.ident.to_string());
        }
        syn::UseTree::Group(group) => group.items.iter().for_each(|tree| renames(tree, out)),
        _ => {}
    }
}

/// The file of `mod name;`, found as rustc finds it, and the directory of the modules it
/// declares: `dir` is the directory of the enclosing module's modules, `file_dir` that of its
/// file; `#[path]` (`explicit`) is relative to the file's directory, or, inside an inline module,
/// to that module's.
pub(crate) fn module_file(
    dir: &Path,
    file_dir: &Path,
    inline: bool,
    name: &str,
    explicit: Option<&str>,
) -> Option<(PathBuf, PathBuf)> {
    let file = match explicit {
        Some(explicit) if inline => Some(dir.join(explicit)),
        Some(explicit) => Some(file_dir.join(explicit)),
        None => [dir.join(format!("{name}.rs")), dir.join(name).join("mod.rs")]
            .into_iter()
            .find(|file| file.is_file()),
    }?;
    // A `mod.rs`, and a file `#[path]` names, have their modules beside them.
    let beside = file.parent().map(Path::to_owned).unwrap_or_default();
    let dir = match file.file_name().and_then(|n| n.to_str()) {
        _ if explicit.is_some() => beside,
        Some("mod.rs") => beside,
        _ => file.with_extension(""),
    };
    Some((file, dir))
}

/// `file`, relative to the package.
fn site(package: &Path, file: &Path) -> String {
    file.strip_prefix(package).unwrap_or(file).display().to_string()
}
