//! The one registry of the process: which updateable items and globals exist, which cells
//! every image has for them, which version's code each item runs, and the chain of versions.
//!
//! Only the running program's copy of the runtime keeps a registry; a patch's copy reaches it
//! through the host context. The registry changes only through its own methods: a commit
//! (`Plan::commit` in `plan.rs`) records a new version with them, and `undo_last` takes the
//! last one back.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::SystemTime;

use dsu_abi::{GlobalDesc, Hash128, ItemDesc, PatchManifestRef, Shape, TypeDesc};
use parking_lot::Mutex;

use crate::cell::{global_of, kind_of, slot_of, GlobalCell, InstanceFn, SlotCell};
use crate::future::InFlight;
use crate::manifest::Manifest;
use crate::reach::Graph;
use crate::report::{
    CellStatus, ConvertedGlobal, FuturesStatus, GlobalStatus, ItemRef, ItemStatus, Status,
    VersionInfo,
};
use crate::slices::ProgramInfo;

/// An item's identity: its path plus its signature's fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) path: &'static str,
    pub(crate) signature: Hash128,
}

impl Key {
    /// The key of `desc`. An item whose signature reaches a type whose shape its image cannot
    /// see gets a fingerprint no other image has: `Plan::new` refuses a patch with such an item
    /// before it takes a key, and such an item of the program is never matched.
    pub(crate) fn of(desc: &ItemDesc) -> Key {
        let unique = desc as *const ItemDesc as usize;
        let signature = crate::shape::fingerprint_or_unique(&desc.signature, unique);
        Key { path: desc.path.as_str(), signature }
    }
}

/// The fingerprint of a global's type, as the registry keeps it (see `Key::of`).
fn global_fingerprint(desc: &GlobalDesc) -> Hash128 {
    crate::shape::fingerprint_or_unique(&desc.shape, desc.global as usize)
}

/// One implementation of an item, from one version.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Implementation {
    pub(crate) version: u64,
    pub(crate) code: *const (),
    pub(crate) body: Hash128,
    /// The fingerprint of the signature it was compiled with (the item's key's).
    signature: Hash128,
}

/// An item's cell in one image, and what that image's code calls it with.
#[derive(Debug)]
struct ItemCell {
    slot: &'static SlotCell,
    /// The fingerprint of the signature the image's code calls the item with.
    signature: Hash128,
    /// The image's stale bridge (`ItemDesc::stale`), of that signature.
    stale: *const (),
}

/// A live item. Read-only outside the registry, which hands out only shared references.
#[derive(Debug)]
pub(crate) struct Item {
    pub(crate) signature_text: &'static str,
    /// The shape of its signature, as the image that registered it first has it.
    pub(crate) signature: Shape,
    /// The id transactions record calls of the item under (see `transaction.rs`).
    pub(crate) effect: u32,
    /// The item's cell in every image that has it, program first.
    cells: Vec<ItemCell>,
    /// Its implementations, oldest first; the last one runs.
    history: Vec<Implementation>,
}

impl Item {
    fn new(key: &Key, desc: &ItemDesc, effect: u32, version: u64) -> Item {
        let slot = slot_of(desc);
        // A patch's cell has it already (`Plan::prepare`); the program's gets it here.
        slot.set_effect(effect);
        let implementation = Implementation {
            version,
            code: desc.implementation,
            body: desc.body,
            signature: key.signature,
        };
        Item {
            signature_text: desc.signature_text.as_str(),
            signature: desc.signature,
            effect,
            cells: vec![ItemCell { slot, signature: key.signature, stale: desc.stale }],
            history: vec![implementation],
        }
    }

    pub(crate) fn current(&self) -> Implementation {
        *self.history.last().expect("a live item has an implementation")
    }

    pub(crate) fn item_ref(&self, key: &Key) -> ItemRef {
        ItemRef { path: key.path.to_owned(), signature: self.signature_text.to_owned() }
    }

    /// Points every cell at the current implementation; a cell of an image whose code calls
    /// the item with another signature (a method of a type a conversion changed, before or
    /// after it) at that image's stale bridge, which panics instead of passing values of one
    /// layout to code compiled for another.
    fn switch(&self) {
        let current = self.current();
        for cell in &self.cells {
            match cell.signature == current.signature {
                true => cell.slot.set(current.code),
                false => cell.slot.set(cell.stale),
            }
        }
    }

    /// Adds a patch's cell of the item, called with the signature of `key`, which calls
    /// through it only after the commit. The cell has the item's effect id already:
    /// `Plan::prepare` gives it, before any cell switches.
    fn add_cell(&mut self, key: &Key, desc: &ItemDesc) {
        let slot = slot_of(desc);
        debug_assert_eq!(slot.effect.load(std::sync::atomic::Ordering::Relaxed), self.effect);
        self.cells.push(ItemCell { slot, signature: key.signature, stale: desc.stale });
    }
}

/// A live global. Read-only outside the registry.
#[derive(Debug)]
pub(crate) struct GlobalEntry {
    pub(crate) type_text: &'static str,
    pub(crate) fingerprint: Hash128,
    /// The id transactions record accesses of the global under.
    pub(crate) effect: u32,
    /// Makes (on first use) and returns the live instance: the first image's with the global.
    pub(crate) instance: InstanceFn,
    /// The global's cell in every image that has it.
    cells: Vec<&'static GlobalCell>,
    /// The version that declared it first.
    since: u64,
}

impl GlobalEntry {
    /// The live instance, if an image has made it yet.
    pub(crate) fn made(&self) -> Option<*const ()> {
        // Acquire: pairs with the Release that published the instance.
        let live = self.cells[0].live.load(std::sync::atomic::Ordering::Acquire);
        (!live.is_null()).then_some(live.cast_const())
    }
}

/// The fingerprint of an updateable type, as the registry keeps it (see `Key::of`).
pub(crate) fn type_fingerprint(desc: &TypeDesc) -> Hash128 {
    crate::shape::fingerprint_or_unique(&desc.shape, desc.kind as usize)
}

/// A live updateable type: the type of the state cells the census lists under its effect id.
#[derive(Debug)]
pub(crate) struct TypeEntry {
    /// The fingerprint of its cells' values now.
    pub(crate) fingerprint: Hash128,
    /// Its shape, as the image that declared the current type has it.
    pub(crate) shape: Shape,
    /// The id transactions record accesses of its cells under, and the census its kind id.
    pub(crate) effect: u32,
    /// The fingerprints it has had, with the version that declared or converted to each,
    /// oldest first: which version's type a cell's value is.
    history: Vec<(u64, Hash128)>,
}

/// An updateable type whose cells a version converted, and how to undo it.
#[derive(Debug)]
pub(crate) struct ConvertedType {
    pub(crate) path: &'static str,
    /// The fingerprint and shape before.
    pub(crate) before: (Hash128, Shape),
    /// The fingerprint after.
    pub(crate) after: Hash128,
    /// Makes a value of the type before from one of the type after, if the patch gave one.
    pub(crate) reverse: Option<unsafe extern "C" fn(*const (), *mut ())>,
}

/// One applied version.
#[derive(Debug)]
pub(crate) struct Version {
    pub(crate) info: VersionInfo,
    /// The crate version of the release (empty for a program without `dsu::patch!()`).
    pub(crate) crate_version: String,
    /// Hash of the patch file (0 for the program).
    file_hash: u64,
    /// Items the version replaced.
    pub(crate) replaced: Vec<Key>,
    /// Items the version added.
    pub(crate) added: Vec<Key>,
    /// Globals whose value the version converted to a new type.
    pub(crate) transformed: Vec<Converted>,
    /// Globals the version added.
    added_globals: Vec<&'static str>,
    /// Updateable types whose cells the version converted.
    pub(crate) converted_types: Vec<ConvertedType>,
    /// Updateable types the version added.
    added_types: Vec<&'static str>,
    /// Items the version switched under another key (`Registry::retype`); among `replaced`
    /// by their new keys.
    pub(crate) retyped: Vec<Retyped>,
    /// The crate graph of the version's build (`reach.rs`), if it has one.
    pub(crate) graph: Option<Graph>,
    /// The counts of the futures of the image's updateable `async fn`s, which `push` lists
    /// for `status()` for good: a version rolled back may still run futures.
    futures: Vec<Futures>,
}

/// One image's count of the futures of one updateable `async fn`'s implementation.
#[derive(Debug)]
struct Futures {
    path: &'static str,
    signature_text: &'static str,
    version: u64,
    /// The release the version is.
    release: String,
    count: &'static InFlight,
}

impl std::fmt::Debug for InFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} running", self.running())
    }
}

/// Every count of futures of every version applied, and of every version rolled back.
static FUTURES: Mutex<Vec<Futures>> = Mutex::new(Vec::new());

/// The futures of updateable `async fn`s running now, read from the counts, whatever the
/// registry is doing.
fn futures_now() -> Vec<FuturesStatus> {
    let mut futures: Vec<FuturesStatus> = FUTURES
        .lock()
        .iter()
        .filter_map(|counted| {
            let running = counted.count.running();
            (running > 0).then(|| FuturesStatus {
                item: ItemRef {
                    path: counted.path.to_owned(),
                    signature: counted.signature_text.to_owned(),
                },
                version: counted.version,
                release: counted.release.clone(),
                running,
            })
        })
        .collect();
    futures.sort_by(|a, b| a.item.path.cmp(&b.item.path).then(a.version.cmp(&b.version)));
    futures
}

/// How many records of each kind a commit adds (`Registry::reserve`).
#[derive(Debug)]
pub(crate) struct Growth {
    pub(crate) replaced: usize,
    pub(crate) added: usize,
    pub(crate) retyped: usize,
    pub(crate) transformed: usize,
    pub(crate) added_globals: usize,
    pub(crate) converted_types: usize,
    pub(crate) added_types: usize,
}

/// An item a version switched under another key, and what it had before.
#[derive(Debug)]
pub(crate) struct Retyped {
    pub(crate) old: Key,
    pub(crate) new: Key,
    text: &'static str,
    shape: Shape,
}

/// What a version's manifest says of the release it is.
#[derive(Debug, Default)]
pub(crate) struct Release {
    /// `crate@version`.
    pub(crate) label: String,
    /// The crate version.
    pub(crate) version: String,
    /// The sequence number it declares (0 if none).
    pub(crate) sequence: u64,
}

impl Release {
    pub(crate) fn of(manifest: &Manifest) -> Release {
        Release {
            label: manifest.label(),
            version: manifest.version().to_owned(),
            sequence: manifest.sequence(),
        }
    }
}

/// A global an update converted to a new type, and how to undo it.
#[derive(Debug)]
pub(crate) struct Converted {
    pub(crate) path: &'static str,
    /// The global's type before, and the function that reached its instance then.
    before: (Hash128, &'static str, InstanceFn),
    /// Makes an instance of the type before from the current one, if the patch gave one.
    pub(crate) reverse: Option<unsafe extern "C" fn(*const (), *mut ())>,
    /// The type it was converted to.
    pub(crate) to: &'static str,
    /// What the conversion made: how many values, in how long.
    pub(crate) made: (u64, std::time::Duration),
}

impl Converted {
    /// The type before.
    pub(crate) fn from(&self) -> &'static str {
        self.before.1
    }

    /// The conversion, as reports show it: by `version`, from `from` to `to`.
    pub(crate) fn describe(
        &self,
        version: u64,
        (from, to): (&str, &str),
        (values, took): (u64, std::time::Duration),
    ) -> ConvertedGlobal {
        ConvertedGlobal {
            global: ItemRef { path: self.path.to_owned(), signature: to.to_owned() },
            from: from.to_owned(),
            version,
            values,
            took,
        }
    }
}

/// What `undo_last` took back: the version, and the items it had added.
#[derive(Debug)]
pub(crate) struct Undone {
    pub(crate) version: Version,
    pub(crate) removed: Vec<(Key, Item)>,
}

/// The registry.
#[derive(Debug)]
pub(crate) struct Registry {
    program: Option<&'static ProgramInfo>,
    /// The program's manifest section, or the runtime's own build where there is no program.
    manifest: Manifest,
    versions: Vec<Version>,
    items: HashMap<Key, Item>,
    /// Keys that two items of the program share: which one a patch replaces cannot be told.
    ambiguous: HashSet<Key>,
    /// Paths that two globals of the program share.
    ambiguous_globals: HashSet<&'static str>,
    /// Every live global, by path.
    globals: HashMap<&'static str, GlobalEntry>,
    /// Every updateable type, by path.
    types: HashMap<&'static str, TypeEntry>,
    /// Paths that two updateable types of the program share.
    ambiguous_types: HashSet<&'static str>,
    /// The id of the next version.
    next_id: u64,
    /// The effect id of the next new item or global.
    next_effect: u32,
    /// The patch the last check or update loaded and did not attach, with the bytes it was
    /// loaded from, for an update of the same bytes to switch to (loading them again would run
    /// a second copy of its constructors).
    loaded: Option<Loaded>,
}

/// A patch loaded, and the bytes it was loaded from.
struct Loaded {
    bytes: Vec<u8>,
    image: PatchManifestRef,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Loaded({} bytes)", self.bytes.len())
    }
}

// SAFETY: the raw pointers in `Implementation` are code addresses of images that are never
// unloaded; the registry only copies them into cells, so moving it between threads is sound.
unsafe impl Send for Registry {}

impl Registry {
    /// The registry of this image: its own items and globals, as version 0.
    fn new() -> Registry {
        // Miri cannot read the section bounds linkme's slices are made of; its tests build
        // registries of their own with `with_items`.
        #[cfg(miri)]
        return Registry::with_items(None, &[]);
        #[cfg(not(miri))]
        {
            use crate::slices::{GLOBALS, ITEMS, PROGRAMS, TYPES};
            let mut registry = Registry::with_items(PROGRAMS.first(), &ITEMS);
            registry.add_own_globals(&GLOBALS);
            registry.add_own_types(&TYPES);
            // The program's crate is in the image its descriptors are in.
            let own = PROGRAMS.first().map(|p| std::ptr::from_ref(p).cast::<()>());
            let own = own.or_else(|| ITEMS.first().map(|d| std::ptr::from_ref(d).cast::<()>()));
            if let Some(own) = own {
                crate::images::name(own, &registry.running().label);
            }
            registry
        }
    }

    /// A registry of the program `program` whose own items are `own`, and no globals.
    pub(crate) fn with_items(program: Option<&'static ProgramInfo>, own: &[ItemDesc]) -> Registry {
        let manifest = Manifest::of_program(program);
        let release = match program {
            Some(_) => Release::of(&manifest),
            None => Release { label: "program".to_owned(), ..Release::default() },
        };
        let mut registry = Registry {
            program,
            manifest,
            versions: Vec::new(),
            items: HashMap::with_capacity(own.len()),
            ambiguous: HashSet::new(),
            ambiguous_globals: HashSet::new(),
            globals: HashMap::new(),
            types: HashMap::new(),
            ambiguous_types: HashSet::new(),
            next_id: 0,
            next_effect: 0,
            loaded: None,
        };
        for desc in own {
            let key = Key::of(desc);
            match registry.items.get(&key) {
                // Two items share the key: a patch cannot replace either (`AmbiguousItem`).
                // Calls of the second still count for transactions, under the first's id.
                Some(first) => {
                    slot_of(desc).set_effect(first.effect);
                    registry.ambiguous.insert(key);
                }
                None => {
                    let item = Item::new(&key, desc, registry.new_effect(), 0);
                    registry.items.insert(key, item);
                }
            }
        }
        let mut version = registry.new_version(release, PathBuf::new(), 0);
        Registry::count_futures(&mut version, own);
        // A graph that cannot be read is none: an update then says it cannot tell the reach.
        version.graph = program.and_then(|program| Graph::parse(program.graph).ok().flatten());
        registry.push(version);
        registry
    }

    /// The effect ids the next new items and globals will get, in order.
    pub(crate) fn next_effects(&self) -> impl Iterator<Item = u32> {
        let next = self.next_effect;
        (0..).map(move |n| next.wrapping_add(n))
    }

    /// Registers the program's own globals. Two of one path (declared in two function bodies)
    /// are two globals, perhaps of two types: the second keeps its own instance, with an
    /// effect id of its own, and no patch can tell which one its global of that path is
    /// (`AmbiguousItem`).
    #[cfg_attr(miri, allow(dead_code))]
    fn add_own_globals(&mut self, globals: &[GlobalDesc]) {
        for desc in globals {
            let path = desc.path.as_str();
            if self.globals.contains_key(path) {
                let effect = self.new_effect();
                global_of(desc).set_effect(effect);
                self.ambiguous_globals.insert(path);
            } else {
                self.insert_global(desc, 0);
            }
        }
    }

    /// Registers the program's own updateable types, as `add_own_globals` its globals.
    pub(crate) fn add_own_types(&mut self, types: &[TypeDesc]) {
        for desc in types {
            let path = desc.path.as_str();
            if self.types.contains_key(path) {
                let effect = self.new_effect();
                kind_of(desc).set_effect(effect);
                self.ambiguous_types.insert(path);
            } else {
                self.insert_type(desc, 0);
            }
        }
    }

    fn insert_type(&mut self, desc: &TypeDesc, version: u64) {
        let effect = self.new_effect();
        let kind = kind_of(desc);
        kind.set_effect(effect);
        let fingerprint = type_fingerprint(desc);
        crate::census::declare(effect, fingerprint);
        let entry = TypeEntry {
            fingerprint,
            shape: desc.shape,
            effect,
            history: vec![(version, fingerprint)],
        };
        self.types.insert(desc.path.as_str(), entry);
    }

    fn new_effect(&mut self) -> u32 {
        let effect = self.next_effect;
        self.next_effect = self.next_effect.wrapping_add(1);
        effect
    }

    fn insert_global(&mut self, desc: &GlobalDesc, version: u64) {
        let effect = self.new_effect();
        let cell = global_of(desc);
        cell.set_effect(effect);
        let entry = GlobalEntry {
            type_text: desc.type_text.as_str(),
            fingerprint: global_fingerprint(desc),
            effect,
            instance: desc.instance,
            cells: vec![cell],
            since: version,
        };
        self.globals.insert(desc.path.as_str(), entry);
    }

    pub(crate) fn program(&self) -> Option<&'static ProgramInfo> {
        self.program
    }

    /// The program's manifest: its crate and build.
    pub(crate) fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub(crate) fn item(&self, key: &Key) -> Option<&Item> {
        self.items.get(key)
    }

    /// Every live item's key.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &Key> {
        self.items.keys()
    }

    pub(crate) fn is_ambiguous(&self, key: &Key) -> bool {
        self.ambiguous.contains(key)
    }

    pub(crate) fn is_ambiguous_global(&self, path: &str) -> bool {
        self.ambiguous_globals.contains(path)
    }

    pub(crate) fn global(&self, path: &str) -> Option<&GlobalEntry> {
        self.globals.get(path)
    }

    /// The effect ids of every live global.
    pub(crate) fn global_effects(&self) -> impl Iterator<Item = u32> + '_ {
        self.globals.values().map(|global| global.effect)
    }

    pub(crate) fn updateable_type(&self, path: &str) -> Option<&TypeEntry> {
        self.types.get(path)
    }

    pub(crate) fn is_ambiguous_type(&self, path: &str) -> bool {
        self.ambiguous_types.contains(path)
    }

    /// The version whose patch file hashes to `file_hash`, if one in the chain does.
    pub(crate) fn applied(&self, file_hash: u64) -> Option<&VersionInfo> {
        self.versions.iter().find(|v| v.file_hash == file_hash).map(|v| &v.info)
    }

    pub(crate) fn running(&self) -> &VersionInfo {
        &self.running_version().info
    }

    /// The image the last check or update loaded, if it loaded it from `bytes`.
    pub(crate) fn loaded(&self, bytes: &[u8]) -> Option<PatchManifestRef> {
        self.loaded.as_ref().filter(|loaded| loaded.bytes == bytes).map(|loaded| loaded.image)
    }

    /// Forgets the image the last check or update loaded: an update attached it.
    pub(crate) fn forget_loaded(&mut self) {
        self.loaded = None;
    }

    /// Keeps `image`, loaded from `bytes`, for an update of the same bytes.
    pub(crate) fn keep_loaded(&mut self, bytes: Vec<u8>, image: PatchManifestRef) {
        self.loaded = Some(Loaded { bytes, image });
    }

    /// The crate graph of the program as it started, if it has one.
    pub(crate) fn program_graph(&self) -> Option<&Graph> {
        self.versions.first().and_then(|version| version.graph.as_ref())
    }

    /// The version the program runs now.
    pub(crate) fn running_version(&self) -> &Version {
        self.versions.last().expect("the program itself is always in the chain")
    }

    /// The last update, if there was one since the program started.
    pub(crate) fn last_update(&self) -> Option<&Version> {
        self.versions.last().filter(|_| self.versions.len() >= 2)
    }

    /// The next version, to be recorded by the commit (`push`, which stamps the time it was
    /// applied): nothing changes until then.
    pub(crate) fn new_version(&self, release: Release, path: PathBuf, file_hash: u64) -> Version {
        let Release { label, version, sequence } = release;
        Version {
            info: VersionInfo {
                id: self.next_id,
                label,
                sequence,
                path,
                applied_at: SystemTime::now(),
            },
            crate_version: version,
            file_hash,
            replaced: Vec::new(),
            added: Vec::new(),
            transformed: Vec::new(),
            added_globals: Vec::new(),
            converted_types: Vec::new(),
            added_types: Vec::new(),
            retyped: Vec::new(),
            graph: None,
            futures: Vec::new(),
        }
    }

    /// Notes the counts of futures `descs`, the image of `version`, has, for `push` to list.
    pub(crate) fn count_futures<'a>(
        version: &mut Version,
        descs: impl IntoIterator<Item = &'a ItemDesc>,
    ) {
        for desc in descs {
            // SAFETY: a descriptor's `futures` is null or its image's count (`ItemDesc`).
            if let Some(count) = unsafe { crate::future::of_desc(desc.futures) } {
                version.futures.push(Futures {
                    path: desc.path.as_str(),
                    signature_text: desc.signature_text.as_str(),
                    version: version.info.id,
                    release: version.info.label.clone(),
                    count,
                });
            }
        }
    }

    /// Switches every cell of the item `desc` replaces to `desc`'s code, the patch's cell
    /// included (those of another signature to their stale bridges, see `Item::switch`).
    pub(crate) fn replace(&mut self, version: &mut Version, key: Key, desc: &ItemDesc) {
        let item = self.items.get_mut(&key).expect("planned against this registry");
        item.add_cell(&key, desc);
        let implementation = Implementation {
            version: version.info.id,
            code: desc.implementation,
            body: desc.body,
            signature: key.signature,
        };
        item.history.push(implementation);
        item.switch();
        version.replaced.push(key);
    }

    /// Switches the item `old` to `desc`, whose signature is another only because the types a
    /// conversion of this version changes are other (`Plan::retyped`): the item is known by
    /// `new` from now on, and `undo_last` gives it its old key back.
    pub(crate) fn retype(&mut self, version: &mut Version, old: Key, new: Key, desc: &ItemDesc) {
        let mut item = self.items.remove(&old).expect("planned against this registry");
        version.retyped.push(Retyped {
            old,
            new,
            text: item.signature_text,
            shape: item.signature,
        });
        item.signature_text = desc.signature_text.as_str();
        item.signature = desc.signature;
        self.items.insert(new, item);
        self.replace(version, new, desc);
    }

    /// Registers a patch's cell of an item it leaves alone (which points at the running code).
    pub(crate) fn share_item(&mut self, key: Key, desc: &ItemDesc) {
        let item = self.items.get_mut(&key).expect("planned against this registry");
        item.add_cell(&key, desc);
    }

    /// Registers an item a patch adds, which later patches can replace.
    pub(crate) fn add_item(&mut self, version: &mut Version, key: Key, desc: &ItemDesc) {
        let item = Item::new(&key, desc, self.new_effect(), version.info.id);
        self.items.insert(key, item);
        version.added.push(key);
    }

    /// Registers a patch's cell of a global it shares (which points at the live instance).
    pub(crate) fn share_global(&mut self, desc: &GlobalDesc) {
        let live = self.globals.get_mut(desc.path.as_str()).expect("planned against this");
        live.cells.push(global_of(desc));
    }

    /// Registers a global a patch adds: its instance, made on first use, is the live one.
    pub(crate) fn add_global(&mut self, version: &mut Version, desc: &GlobalDesc) {
        self.insert_global(desc, version.info.id);
        version.added_globals.push(desc.path.as_str());
    }

    /// Registers an updateable type a patch adds.
    pub(crate) fn add_type(&mut self, version: &mut Version, desc: &TypeDesc) {
        self.insert_type(desc, version.info.id);
        version.added_types.push(desc.path.as_str());
    }

    /// Records that the cells of the type `desc` declares are of its type from now on. The
    /// census switched the cells.
    pub(crate) fn convert_type(&mut self, version: &mut Version, desc: &TypeDesc) {
        let live = self.types.get_mut(desc.path.as_str()).expect("planned against this");
        let after = type_fingerprint(desc);
        version.converted_types.push(ConvertedType {
            path: desc.path.as_str(),
            before: (live.fingerprint, live.shape),
            after,
            reverse: desc.reverse,
        });
        live.fingerprint = after;
        live.shape = desc.shape;
        live.history.push((version.info.id, after));
    }

    /// Switches every cell of the global `desc` converts to `new`, an instance of `desc`'s
    /// type made from the live one, the patch's cell included; `made` is how many values the
    /// conversion made, in how long. Returns the conversion, for the report, and the instance
    /// it replaced, for the caller to drop once no transaction can reach it.
    pub(crate) fn convert_global(
        &mut self,
        version: &mut Version,
        desc: &GlobalDesc,
        new: *const (),
        made: (u64, std::time::Duration),
    ) -> (ConvertedGlobal, Option<*const ()>) {
        let live = self.globals.get_mut(desc.path.as_str()).expect("planned against this");
        let replaced = live.made();
        let converted = Converted {
            path: desc.path.as_str(),
            before: (live.fingerprint, live.type_text, live.instance),
            reverse: desc.reverse,
            to: desc.type_text.as_str(),
            made,
        };
        let described =
            converted.describe(version.info.id, (converted.from(), converted.to), converted.made);
        version.transformed.push(converted);
        for cell in &live.cells {
            cell.set_live(new);
        }
        global_of(desc).attach(new, live.effect);
        live.cells.push(global_of(desc));
        live.fingerprint = global_fingerprint(desc);
        live.type_text = desc.type_text.as_str();
        live.instance = desc.instance;
        (described, replaced)
    }

    /// Makes room for what a commit that records `growth` in `version` writes, before the
    /// update holds the gate, so that the commit (the pause) allocates nothing large. A large
    /// allocation may first have the allocator tidy every small block the conversion freed on
    /// this thread (glibc's `malloc_consolidate`): after a conversion of 100,000 entries, that
    /// took up to 25 ms inside the pause, at the commit that grew the list of versions.
    pub(crate) fn reserve(&mut self, version: &mut Version, growth: Growth) {
        self.versions.reserve(1);
        self.items.reserve(growth.added + growth.retyped);
        self.globals.reserve(growth.added_globals);
        self.types.reserve(growth.added_types);
        version.replaced.reserve(growth.replaced + growth.retyped);
        version.added.reserve(growth.added);
        version.retyped.reserve(growth.retyped);
        version.transformed.reserve(growth.transformed);
        version.added_globals.reserve(growth.added_globals);
        version.converted_types.reserve(growth.converted_types);
        version.added_types.reserve(growth.added_types);
        FUTURES.lock().reserve(version.futures.len());
    }

    /// Records `version`, made by `new_version` and switched in by the calls above, as the
    /// running one, applied now.
    pub(crate) fn push(&mut self, mut version: Version) {
        assert_eq!(version.info.id, self.next_id, "versions are recorded in the order made");
        self.next_id += 1;
        version.info.applied_at = SystemTime::now();
        // Room was made by `reserve`: the commit allocates nothing here.
        FUTURES.lock().append(&mut version.futures);
        self.versions.push(version);
    }

    /// Undoes the last update: each global it converted back to `restored` (an instance of
    /// its type before, made by its reverse transformer, in the order of
    /// `Version::transformed`), each item it replaced back to its previous code in every
    /// cell, and what it added unregistered. Updates are undone last first, so nothing later
    /// refers to what this version added.
    ///
    /// Returns, besides, the instances of the globals the rollback replaced, for the caller to
    /// drop once no transaction can reach them. The census switches the cells of the types the
    /// version converted; here each type gets its fingerprint before back.
    pub(crate) fn undo_last(&mut self, restored: &[*const ()]) -> (Undone, Vec<*const ()>) {
        assert!(self.last_update().is_some(), "the program itself is never undone");
        let version = self.versions.pop().expect("checked above");
        let mut replaced = Vec::with_capacity(restored.len());
        for (converted, &old) in version.transformed.iter().zip(restored) {
            let live = self.globals.get_mut(converted.path).expect("a converted global stays");
            replaced.extend(live.made());
            for cell in &live.cells {
                cell.set_live(old);
            }
            (live.fingerprint, live.type_text, live.instance) = converted.before;
        }
        for converted in &version.converted_types {
            let live = self.types.get_mut(converted.path).expect("a converted type stays");
            (live.fingerprint, live.shape) = converted.before;
            live.history.pop();
        }
        for key in &version.replaced {
            let item = self.items.get_mut(key).expect("a replaced item stays live");
            item.history.pop();
            item.switch();
        }
        for retyped in &version.retyped {
            let mut item = self.items.remove(&retyped.new).expect("a retyped item stays live");
            (item.signature_text, item.signature) = (retyped.text, retyped.shape);
            self.items.insert(retyped.old, item);
        }
        let removed = version.added.iter().filter_map(|key| self.items.remove_entry(key)).collect();
        for path in &version.added_globals {
            self.globals.remove(path);
        }
        for path in &version.added_types {
            self.types.remove(path);
        }
        (Undone { version, removed }, replaced)
    }

    fn status(&self) -> Status {
        let mut items: Vec<ItemStatus> = self
            .items
            .iter()
            .map(|(key, item)| ItemStatus {
                item: item.item_ref(key),
                version: item.current().version,
            })
            .collect();
        items.sort_by(|a, b| {
            a.item.path.cmp(&b.item.path).then(a.item.signature.cmp(&b.item.signature))
        });
        let mut globals: Vec<GlobalStatus> = self
            .globals
            .iter()
            .map(|(path, global)| GlobalStatus {
                global: ItemRef {
                    path: (*path).to_owned(),
                    signature: global.type_text.to_owned(),
                },
                since: global.since,
                converted: self.versions.iter().rev().find_map(|version| {
                    let converted = version.transformed.iter().find(|c| c.path == *path)?;
                    let types = (converted.from(), converted.to);
                    Some(converted.describe(version.info.id, types, converted.made))
                }),
            })
            .collect();
        globals.sort_by(|a, b| a.global.path.cmp(&b.global.path));
        let counts = crate::census::counts();
        let mut cells: Vec<CellStatus> = Vec::new();
        for (path, entry) in &self.types {
            let mut of_type: Vec<CellStatus> = counts
                .iter()
                .filter(|((kind, _), _)| *kind == entry.effect)
                .map(|((_, fingerprint), &count)| CellStatus {
                    type_name: (*path).to_owned(),
                    // The last version whose type it is (a rollback returns to an earlier one).
                    version: entry
                        .history
                        .iter()
                        .rev()
                        .find(|(_, had)| had == fingerprint)
                        .map_or(u64::MAX, |(version, _)| *version),
                    cells: count,
                })
                .collect();
            cells.append(&mut of_type);
        }
        cells.sort_by(|a, b| a.type_name.cmp(&b.type_name).then(a.version.cmp(&b.version)));
        Status {
            versions: self.versions.iter().map(|v| v.info.clone()).collect(),
            items,
            globals,
            cells,
            futures: futures_now(),
        }
    }

    /// Publishes the registry's status for `status_now` while an update holds the registry.
    /// Called when the registry is made and after every commit and rollback.
    pub(crate) fn publish_status(&self) {
        *LAST_STATUS.lock() = Some(self.status());
    }
}

/// The process's registry, built from the program's own items on first use.
pub(crate) fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let registry = Registry::new();
        registry.publish_status();
        Mutex::new(registry)
    })
}

/// Gives every item and global of the program its effect id, once. Until then every cell
/// holds id 0, and a transaction would record every call under it: so every transaction
/// record is taken after this (`transaction::take_record_here`), and an update, which makes
/// the registry, can tell which items each open transaction has called.
pub(crate) fn give_effect_ids() {
    let _ = registry();
}

/// The status as of the registry's last change.
static LAST_STATUS: Mutex<Option<Status>> = Mutex::new(None);

/// What the program runs now. It never waits for an update: while one holds the registry,
/// perhaps until its timeout while it waits for transactions (the very one asking, a server's
/// INFO command), what runs is still what ran at the last commit.
pub(crate) fn status_now() -> Status {
    if let Some(registry) = registry().try_lock() {
        return registry.status();
    }
    let mut status = LAST_STATUS.lock().clone().expect("published when the registry was made");
    status.futures = futures_now();
    status
}
