//! The delta between the running program and a patch: which items the patch replaces, adds,
//! leaves alone, and which it no longer has.

use std::collections::{HashMap, HashSet};

use dsu_abi::{GlobalDesc, ItemDesc};

use crate::error::UpdateError;
use crate::registry::{Key, Registry};

/// What applying a patch would do. Computed without touching anything.
#[derive(Debug, Default)]
pub(crate) struct Plan<'m> {
    /// Items whose body changed.
    pub(crate) replaced: Vec<&'m ItemDesc>,
    /// Items the program does not have.
    pub(crate) added: Vec<&'m ItemDesc>,
    /// Keys of the added items whose path exists with another signature.
    pub(crate) signature_changed: Vec<Key>,
    /// Items with the running body.
    pub(crate) unchanged: Vec<&'m ItemDesc>,
    /// Live items the patch does not have.
    pub(crate) removed: Vec<Key>,
    /// Globals the program has, of the same type: the patch's code reaches the live instance.
    pub(crate) shared_globals: Vec<&'m GlobalDesc>,
    /// Globals the program does not have: the patch's own instance becomes the live one.
    pub(crate) added_globals: Vec<&'m GlobalDesc>,
    /// Globals whose type changed, with a transformer from the running type.
    pub(crate) transformed_globals: Vec<&'m GlobalDesc>,
}

pub(crate) fn plan<'m>(
    registry: &Registry,
    items: &'m [ItemDesc],
    globals: &'m [GlobalDesc],
) -> Result<Plan<'m>, UpdateError> {
    let mut plan = Plan::default();
    let mut seen_globals = HashSet::with_capacity(globals.len());
    for desc in globals {
        let path = desc.path.as_str();
        if !seen_globals.insert(path) {
            return Err(UpdateError::DuplicateItem { item: path.to_owned() });
        }
        match registry.globals.get(path) {
            Some(live) if live.fingerprint == desc.fingerprint => plan.shared_globals.push(desc),
            Some(live) if desc.was_fingerprint == live.fingerprint && desc.transform.is_some() => {
                plan.transformed_globals.push(desc);
            }
            Some(live) if desc.was_fingerprint != 0 => {
                return Err(UpdateError::TransformerForAnotherVersion {
                    global: path.to_owned(),
                    running: live.type_text.to_owned(),
                    was: desc.was_text.as_str().to_owned(),
                })
            }
            Some(live) => {
                return Err(UpdateError::GlobalTypeChanged {
                    global: path.to_owned(),
                    running: live.type_text.to_owned(),
                    patch: desc.type_text.as_str().to_owned(),
                })
            }
            None => plan.added_globals.push(desc),
        }
    }
    let mut seen = HashSet::with_capacity(items.len());
    let live_paths: HashMap<&str, ()> = registry.items.keys().map(|k| (k.path, ())).collect();
    for desc in items {
        let key = Key::of(desc);
        if registry.ambiguous.contains(&key) {
            return Err(UpdateError::AmbiguousItem { item: key.path.to_owned() });
        }
        if !seen.insert(key) {
            return Err(UpdateError::DuplicateItem { item: key.path.to_owned() });
        }
        match registry.items.get(&key) {
            Some(item) => {
                if item.signature_text != desc.signature_text.as_str() {
                    return Err(UpdateError::SignatureMismatch {
                        item: key.path.to_owned(),
                        running: item.signature_text.to_owned(),
                        patch: desc.signature_text.as_str().to_owned(),
                    });
                }
                if item.current().body == desc.body {
                    plan.unchanged.push(desc);
                } else {
                    plan.replaced.push(desc);
                }
            }
            None => {
                if live_paths.contains_key(key.path) {
                    plan.signature_changed.push(key);
                }
                plan.added.push(desc);
            }
        }
    }
    plan.removed = registry.items.keys().filter(|k| !seen.contains(k)).copied().collect();
    plan.removed.sort_by_key(|k| k.path);
    if let Some(global) = plan.transformed_globals.first() {
        // Code compiled against the old type must not stay live. The patch's code is compiled
        // against the new one: switch every item to it, whether its tokens changed or not.
        // An item the patch removes would stay live with the old type: refused.
        if let Some(removed) = plan.removed.first() {
            return Err(UpdateError::StaleUser {
                global: global.path.as_str().to_owned(),
                item: removed.path.to_owned(),
            });
        }
        plan.replaced.append(&mut plan.unchanged);
    }
    Ok(plan)
}
