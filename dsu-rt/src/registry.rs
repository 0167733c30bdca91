//! The one registry of the process: which updateable items exist, which slots every image
//! has for them, and which version's code each one runs.
//!
//! Only the running program's copy of the runtime keeps a registry; a patch's copy reaches it
//! through the host context (see `patch.rs`).

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use dsu_abi::{GlobalDesc, ItemDesc};
use parking_lot::Mutex;

use crate::global::ErasedGlobal;
use crate::report::{GlobalStatus, ItemRef, ItemStatus, Status, VersionInfo};
use crate::slot::ErasedSlot;

/// Every updateable item of this image, registered by the macros.
#[linkme::distributed_slice]
pub static ITEMS: [ItemDesc];

/// Every updateable global of this image, registered by the macros.
#[linkme::distributed_slice]
pub static GLOBALS: [GlobalDesc];

/// The crate this image was built from, registered by `dsu::patch!()`.
#[linkme::distributed_slice]
pub static PROGRAMS: [ProgramInfo];

/// Name and version of the crate that declared `dsu::patch!()`.
#[derive(Debug)]
pub struct ProgramInfo {
    /// `CARGO_PKG_NAME`.
    pub name: &'static str,
    /// `CARGO_PKG_VERSION`.
    pub version: &'static str,
}

/// An item's identity: its path plus its signature fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) path: &'static str,
    pub(crate) signature: u64,
}

impl Key {
    pub(crate) fn of(desc: &ItemDesc) -> Key {
        Key { path: desc.path.as_str(), signature: desc.signature }
    }
}

/// One implementation of an item, from one version.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Implementation {
    pub(crate) version: u64,
    pub(crate) code: *const (),
    pub(crate) body: u64,
}

/// A live item.
#[derive(Debug)]
pub(crate) struct Item {
    pub(crate) signature_text: &'static str,
    /// The id transactions record calls of the item under (see `transaction.rs`).
    pub(crate) effect: u32,
    /// The item's slot in every image that has it, program first.
    pub(crate) slots: Vec<&'static ErasedSlot>,
    /// Its implementations, oldest first; the last one runs.
    pub(crate) history: Vec<Implementation>,
}

impl Item {
    fn new(desc: &ItemDesc, effect: u32, version: u64) -> Item {
        let slot = slot_of(desc);
        slot.set_effect(effect);
        Item {
            signature_text: desc.signature_text.as_str(),
            effect,
            slots: vec![slot],
            history: vec![Implementation { version, code: desc.implementation, body: desc.body }],
        }
    }

    pub(crate) fn current(&self) -> Implementation {
        *self.history.last().expect("a live item has an implementation")
    }

    pub(crate) fn item_ref(&self, key: &Key) -> ItemRef {
        ItemRef { path: key.path.to_owned(), signature: self.signature_text.to_owned() }
    }

    pub(crate) fn switch_to(&self, code: *const ()) {
        for slot in &self.slots {
            slot.set(code);
        }
    }

    /// Adds a patch's slot of the item, which calls through it only after the commit.
    pub(crate) fn add_slot(&mut self, slot: &'static ErasedSlot) {
        slot.set_effect(self.effect);
        slot.set_access(crate::tls::patch_access());
        self.slots.push(slot);
    }
}

/// A live global.
#[derive(Debug)]
pub(crate) struct GlobalEntry {
    pub(crate) type_text: &'static str,
    pub(crate) fingerprint: u64,
    /// The id transactions record accesses of the global under.
    pub(crate) effect: u32,
    /// Makes (on first use) and returns the live instance: the first image's with the global.
    pub(crate) instance: extern "C" fn() -> *const (),
    /// The global's cell in every image that has it.
    pub(crate) cells: Vec<&'static ErasedGlobal>,
    /// The version that declared it first.
    pub(crate) since: u64,
}

/// One applied version.
#[derive(Debug)]
pub(crate) struct Version {
    pub(crate) info: VersionInfo,
    /// Hash of the patch file (0 for the program).
    pub(crate) file_hash: u64,
    /// Items the version replaced.
    pub(crate) replaced: Vec<Key>,
    /// Items the version added.
    pub(crate) added: Vec<Key>,
    /// Globals whose value the version converted to a new type.
    pub(crate) transformed: Vec<Converted>,
    /// Globals the version added.
    pub(crate) added_globals: Vec<&'static str>,
}

/// A global an update converted to a new type, and how to undo it.
#[derive(Debug)]
pub(crate) struct Converted {
    pub(crate) path: &'static str,
    /// The global's type before, and the function that reached its instance then.
    pub(crate) before: (u64, &'static str, extern "C" fn() -> *const ()),
    /// Makes an instance of the type before from the current one, if the patch gave one.
    pub(crate) reverse: Option<unsafe extern "C" fn(*const (), *mut ())>,
}

/// The registry.
#[derive(Debug)]
pub(crate) struct Registry {
    pub(crate) program: Option<&'static ProgramInfo>,
    pub(crate) versions: Vec<Version>,
    pub(crate) items: HashMap<Key, Item>,
    /// Keys that two items of the program share: which one a patch replaces cannot be told.
    pub(crate) ambiguous: HashSet<Key>,
    /// Every live global, by path.
    pub(crate) globals: HashMap<&'static str, GlobalEntry>,
    /// Numbers the versions and the unique copies patches are loaded from.
    pub(crate) next_id: u64,
    /// The effect id of the next new item.
    next_effect: u32,
}

// SAFETY: the raw pointers in `Implementation` are code addresses of images that are never
// unloaded; the registry only copies them into slots, so moving it between threads is sound.
unsafe impl Send for Registry {}

impl Registry {
    /// The registry of this image: its own items, as version 0.
    fn new() -> Registry {
        // Miri cannot read the section bounds linkme's slices are made of; its tests build
        // registries of their own with `with_items`.
        #[cfg(miri)]
        return Registry::with_items(None, &[]);
        #[cfg(not(miri))]
        {
            let mut registry = Registry::with_items(PROGRAMS.first(), &ITEMS);
            for desc in GLOBALS.iter() {
                // Two globals of one path (declared in two function bodies) share the entry
                // of the first, whose instance both reach.
                let path = desc.path.as_str();
                if !registry.globals.contains_key(path) {
                    let effect = registry.new_effect();
                    registry.globals.insert(
                        path,
                        GlobalEntry {
                            type_text: desc.type_text.as_str(),
                            fingerprint: desc.fingerprint,
                            effect,
                            instance: desc.instance,
                            cells: Vec::new(),
                            since: 0,
                        },
                    );
                }
                let entry = registry.globals.get_mut(path).expect("inserted above");
                global_of(desc).set_effect(entry.effect);
                entry.cells.push(global_of(desc));
            }
            registry
        }
    }

    /// Registers a global a patch adds, as of `version`: its instance, made on first use, is
    /// the live one.
    pub(crate) fn add_global(&mut self, desc: &GlobalDesc, version: u64) {
        let effect = self.new_effect();
        let cell = global_of(desc);
        cell.set_effect(effect);
        self.globals.insert(
            desc.path.as_str(),
            GlobalEntry {
                type_text: desc.type_text.as_str(),
                fingerprint: desc.fingerprint,
                effect,
                instance: desc.instance,
                cells: vec![cell],
                since: version,
            },
        );
    }

    /// A new effect id.
    pub(crate) fn new_effect(&mut self) -> u32 {
        let effect = self.next_effect;
        self.next_effect = self.next_effect.wrapping_add(1);
        effect
    }

    pub(crate) fn with_items(program: Option<&'static ProgramInfo>, own: &[ItemDesc]) -> Registry {
        let label =
            program.map_or_else(|| "program".to_owned(), |p| format!("{}@{}", p.name, p.version));
        let mut items: HashMap<Key, Item> = HashMap::with_capacity(own.len());
        let mut ambiguous = HashSet::new();
        let mut next_effect = 0;
        for desc in own {
            match items.get(&Key::of(desc)) {
                // Two items share the key: a patch cannot replace either (`AmbiguousItem`).
                // Calls of the second still count for transactions, under the first's id.
                Some(first) => {
                    slot_of(desc).set_effect(first.effect);
                    ambiguous.insert(Key::of(desc));
                }
                None => {
                    let item = Item::new(desc, next_effect, 0);
                    next_effect += 1;
                    items.insert(Key::of(desc), item);
                }
            }
        }
        Registry {
            program,
            versions: vec![Version {
                info: VersionInfo {
                    id: 0,
                    label,
                    path: Default::default(),
                    applied_at: std::time::SystemTime::now(),
                },
                file_hash: 0,
                replaced: Vec::new(),
                added: Vec::new(),
                transformed: Vec::new(),
                added_globals: Vec::new(),
            }],
            items,
            ambiguous,
            globals: HashMap::new(),
            next_id: 1,
            next_effect,
        }
    }

    /// Registers an item a patch adds, as of `version`.
    pub(crate) fn add(&mut self, desc: &ItemDesc, version: u64) -> Key {
        slot_of(desc).set_access(crate::tls::patch_access());
        let effect = self.new_effect();
        let item = Item::new(desc, effect, version);
        self.items.insert(Key::of(desc), item);
        Key::of(desc)
    }

    pub(crate) fn running(&self) -> &VersionInfo {
        &self.versions.last().expect("the program itself is always in the chain").info
    }

    pub(crate) fn status(&self) -> Status {
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
            })
            .collect();
        globals.sort_by(|a, b| a.global.path.cmp(&b.global.path));
        Status { versions: self.versions.iter().map(|v| v.info.clone()).collect(), items, globals }
    }
}

/// The slot an item descriptor points at.
pub(crate) fn slot_of(desc: &ItemDesc) -> &'static ErasedSlot {
    // SAFETY: `desc.slot` is the address of a `static Slot<F>` generated next to the item by
    // `#[updateable]`, in an image that is never unloaded. `Slot` is `repr(C)` and starts with
    // the fields of `ErasedSlot` (`AtomicPtr<()>`, `AtomicU32`), also `repr(C)`. A patch's
    // descriptors are read only after abi_stable checked the manifest's layout and the build
    // fingerprint showed the same runtime layout.
    unsafe { &*desc.slot.cast::<ErasedSlot>() }
}

/// The cell a global descriptor points at.
pub(crate) fn global_of(desc: &GlobalDesc) -> &'static ErasedGlobal {
    // SAFETY: `desc.global` is the address of a `static Global<T>` generated by
    // `#[updateable]`, in an image that is never unloaded; `Global` is `repr(C)` and starts
    // with the fields of `ErasedGlobal`, also `repr(C)`. A patch's descriptors are read only
    // after its manifest and build were checked.
    unsafe { &*desc.global.cast::<ErasedGlobal>() }
}

/// The process's registry, built from the program's own items on first use.
pub(crate) fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let registry = Registry::new();
        publish_status(&registry);
        Mutex::new(registry)
    })
}

/// The status as of the registry's last change, for `status` while an update holds the
/// registry: published when the registry is made and after every commit and rollback.
static LAST_STATUS: Mutex<Option<Status>> = Mutex::new(None);

pub(crate) fn publish_status(registry: &Registry) {
    *LAST_STATUS.lock() = Some(registry.status());
}

/// The status as of the registry's last change.
pub(crate) fn last_status() -> Status {
    LAST_STATUS.lock().clone().expect("published when the registry was made")
}
