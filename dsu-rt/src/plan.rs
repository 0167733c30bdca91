//! The delta between the running program and a patch: which items the patch replaces, adds,
//! leaves alone, and which it no longer has; and the steps that apply it. Planning, preparing
//! and converting touch nothing the program runs; the commit switches the plan in, through
//! the registry's own methods, and cannot fail.

use std::collections::{HashMap, HashSet};

use dsu_abi::{GlobalDesc, Hash128, ItemDesc, Shape, TypeDesc};

use crate::cell::{global_of, kind_of, slot_of};
use crate::census::{self, KindConversion, KindMade, Retired};
use crate::error::UpdateError;
use crate::reach::{self, Graph};
use crate::registry::{type_fingerprint, Growth, Key, Registry, Version};
use crate::report::{
    ConvertedCells, ConvertedGlobal, ForkedState, ItemRef, Reached, Unreached, UpdateReport,
    VersionInfo,
};
use crate::tls;
use crate::{convert, spelling};

/// A patch's item with its key, worked out once, in `Plan::new`: the commit, during which
/// calls may see the switch, works nothing out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Keyed<'m> {
    pub(crate) key: Key,
    pub(crate) desc: &'m ItemDesc,
}

impl std::ops::Deref for Keyed<'_> {
    type Target = ItemDesc;

    fn deref(&self) -> &ItemDesc {
        self.desc
    }
}

/// What an update was told to accept of what `Plan::reach` finds.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Accepting {
    /// Changes that stay old, or graphs that are missing.
    pub(crate) unreached: bool,
    /// Plain state the switched code forks.
    pub(crate) forked_state: bool,
}

/// What applying a patch would do. Computed without touching anything.
#[derive(Debug, Default)]
pub(crate) struct Plan<'m> {
    /// Items whose body changed.
    pub(crate) replaced: Vec<Keyed<'m>>,
    /// Items the program does not have.
    pub(crate) added: Vec<Keyed<'m>>,
    /// Keys of the added items whose path exists with another signature.
    pub(crate) signature_changed: Vec<Key>,
    /// Items with the running body.
    pub(crate) unchanged: Vec<Keyed<'m>>,
    /// Items of a converting update whose signature is another only because the types the
    /// conversion changes are other (a method of a converted type): each live item, by its key,
    /// and the patch's, which replaces it.
    pub(crate) retyped: Vec<(Key, Keyed<'m>)>,
    /// Live items the patch does not have.
    pub(crate) removed: Vec<Key>,
    /// The names of the types of other crates in the patch's signatures and global types,
    /// each once: the update compares their crates' releases (`lock::check_crossing`).
    pub(crate) crossing: Vec<&'static str>,
    /// Globals the program has, of the same type: the patch's code reaches the live instance.
    pub(crate) shared_globals: Vec<&'m GlobalDesc>,
    /// Globals the program does not have: the patch's own instance becomes the live one.
    pub(crate) added_globals: Vec<&'m GlobalDesc>,
    /// Globals whose type changed, with a transformer from the running type.
    pub(crate) transformed_globals: Vec<&'m GlobalDesc>,
    /// Updateable types the program has, unchanged: the patch's code reaches their cells.
    pub(crate) shared_types: Vec<&'m TypeDesc>,
    /// Updateable types the program does not have.
    pub(crate) added_types: Vec<&'m TypeDesc>,
    /// Updateable types that changed, with a transformer from the running type: every live
    /// cell of each converts.
    pub(crate) converted_types: Vec<&'m TypeDesc>,
    /// The replaced items whose body is the same, switched because their code reaches a
    /// changed plain item (`reach`): each by its key, with the plain items on the way.
    pub(crate) reached: Vec<(Key, Vec<String>)>,
    /// Changes that stay old, which the update was told to accept.
    pub(crate) unreached: Vec<Unreached>,
    /// Plain state the switched code forks, which the update was told to accept.
    pub(crate) forked: Vec<ForkedState>,
    /// Whether the crate graphs were compared (`reach`).
    pub(crate) analysed: bool,
}

impl<'m> Plan<'m> {
    /// The plan of a patch whose descriptors are `items` and `globals`, or why it is refused.
    pub(crate) fn new(
        registry: &Registry,
        items: &'m [ItemDesc],
        globals: &'m [GlobalDesc],
        types: &'m [TypeDesc],
    ) -> Result<Plan<'m>, UpdateError> {
        let mut plan = Plan::default();
        plan.sort_types(registry, types)?;
        let mut seen_globals = HashSet::with_capacity(globals.len());
        for desc in globals {
            let path = desc.path.as_str();
            if registry.is_ambiguous_global(path) {
                return Err(UpdateError::AmbiguousItem { item: path.to_owned() });
            }
            if !seen_globals.insert(path) {
                return Err(UpdateError::DuplicateItem { item: path.to_owned() });
            }
            let (shape, was) = plan.fingerprints(path, &desc.shape, desc.was.as_ref())?;
            match registry.global(path) {
                Some(live) if live.fingerprint == shape => {
                    // The fingerprint is the type; the text is checked as a signature's is.
                    if !spelling::same(live.type_text, desc.type_text.as_str()) {
                        return Err(UpdateError::GlobalTypeMismatch {
                            global: path.to_owned(),
                            running: live.type_text.to_owned(),
                            patch: desc.type_text.as_str().to_owned(),
                        });
                    }
                    plan.shared_globals.push(desc)
                }
                Some(live) if was == Some(live.fingerprint) && desc.transform.is_some() => {
                    plan.transformed_globals.push(desc);
                }
                Some(live) if was.is_some() => {
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
        let live_paths: HashMap<&str, ()> = registry.keys().map(|k| (k.path, ())).collect();
        for desc in items {
            let (signature, names) =
                crate::shape::fingerprint_naming(&desc.signature).map_err(|type_name| {
                    UpdateError::Unfingerprinted {
                        item: desc.path.as_str().to_owned(),
                        type_name: type_name.to_owned(),
                    }
                })?;
            plan.crossing.extend(names);
            let key = Key { path: desc.path.as_str(), signature };
            let keyed = Keyed { key, desc };
            if registry.is_ambiguous(&key) {
                return Err(UpdateError::AmbiguousItem { item: key.path.to_owned() });
            }
            if !seen.insert(key) {
                return Err(UpdateError::DuplicateItem { item: key.path.to_owned() });
            }
            match registry.item(&key) {
                Some(item) => {
                    if !spelling::same(item.signature_text, desc.signature_text.as_str()) {
                        return Err(UpdateError::SignatureMismatch {
                            item: key.path.to_owned(),
                            running: item.signature_text.to_owned(),
                            patch: desc.signature_text.as_str().to_owned(),
                        });
                    }
                    if item.current().body == desc.body {
                        plan.unchanged.push(keyed);
                    } else {
                        plan.replaced.push(keyed);
                    }
                }
                None => {
                    if live_paths.contains_key(key.path) {
                        plan.signature_changed.push(key);
                    }
                    plan.added.push(keyed);
                }
            }
        }
        plan.crossing.sort_unstable();
        plan.crossing.dedup();
        plan.removed = registry.keys().filter(|k| !seen.contains(k)).copied().collect();
        plan.removed.sort_by_key(|k| k.path);
        let converted = plan.transformed_globals.first().map(|global| global.path.as_str());
        let converted = converted.or(plan.converted_types.first().map(|ty| ty.path.as_str()));
        if let Some(converted) = converted {
            // Code compiled against the old type must not stay live. The patch's code is compiled
            // against the new one: switch every item to it, whether its tokens changed or not.
            // An item whose signature names a converted type is the same item.
            plan.retype(registry)?;
            // An item the patch removes would stay live with the old type: refused.
            if let Some(removed) = plan.removed.first() {
                return Err(UpdateError::StaleUser {
                    global: converted.to_owned(),
                    item: removed.path.to_owned(),
                });
            }
            plan.replaced.append(&mut plan.unchanged);
        }
        Ok(plan)
    }

    /// Whether the plan converts state: globals, or the cells of updateable types.
    pub(crate) fn converts(&self) -> bool {
        !self.transformed_globals.is_empty() || !self.converted_types.is_empty()
    }

    /// The fingerprints of the state at `path` (a global, an updateable type): of its `shape`
    /// and of the `was` it converts from, if any. The names of other crates' types they reach
    /// join `crossing`.
    fn fingerprints(
        &mut self,
        path: &str,
        shape: &Shape,
        was: abi_stable::std_types::ROption<&Shape>,
    ) -> Result<(Hash128, Option<Hash128>), UpdateError> {
        let mut fingerprint = |shape: &Shape| {
            let (fingerprint, names) = crate::shape::fingerprint_naming(shape).map_err(|name| {
                UpdateError::Unfingerprinted { item: path.to_owned(), type_name: name.to_owned() }
            })?;
            self.crossing.extend(names);
            Ok(fingerprint)
        };
        let own = fingerprint(shape)?;
        let was = was.into_option().map(fingerprint).transpose()?;
        Ok((own, was))
    }

    /// Sorts the patch's updateable types into shared, added and converted, or says why one is
    /// refused, as `new` sorts globals.
    fn sort_types(
        &mut self,
        registry: &Registry,
        types: &'m [TypeDesc],
    ) -> Result<(), UpdateError> {
        let mut seen = HashSet::with_capacity(types.len());
        for desc in types {
            let path = desc.path.as_str();
            if registry.is_ambiguous_type(path) {
                return Err(UpdateError::AmbiguousItem { item: path.to_owned() });
            }
            if !seen.insert(path) {
                return Err(UpdateError::DuplicateItem { item: path.to_owned() });
            }
            let (shape, was) = self.fingerprints(path, &desc.shape, desc.was.as_ref())?;
            match registry.updateable_type(path) {
                Some(live) if live.fingerprint == shape => self.shared_types.push(desc),
                Some(live) if was == Some(live.fingerprint) && desc.transform.is_some() => {
                    self.converted_types.push(desc)
                }
                Some(_) if was.is_some() => {
                    return Err(UpdateError::StateConversionForAnotherVersion {
                        type_name: path.to_owned(),
                        was: desc.was_text.as_str().to_owned(),
                    })
                }
                Some(_) => {
                    return Err(UpdateError::StateTypeChanged { type_name: path.to_owned() })
                }
                None => self.added_types.push(desc),
            }
        }
        Ok(())
    }

    /// Adds what the changes of plain code reach (`reach.rs`), given the crate graphs of the
    /// running version and of the patch (and of the program as it started, whose binary is
    /// what runs): switches each unchanged item whose code reaches a
    /// changed plain item, and each the graph does not know (made by a macro, or of another
    /// crate) if anything changed; refuses, unless `options` accept it, a change that code no
    /// update switches still reaches, plain state the switched code would fork, and graphs
    /// that are missing (`accepting` says which the caller accepts).
    pub(crate) fn reach(
        &mut self,
        path: &std::path::Path,
        (program, running): (Option<&Graph>, Option<&Graph>),
        patch: Option<&Graph>,
        accepting: Accepting,
    ) -> Result<(), UpdateError> {
        let (running, patch) = match (running, patch) {
            (Some(running), Some(patch)) => (running, patch),
            (running, _) => {
                if accepting.unreached {
                    return Ok(());
                }
                let reason = match running {
                    None => "the running version has no crate graph",
                    Some(_) => "the patch has no crate graph",
                };
                return Err(UpdateError::Unanalysed {
                    path: path.to_owned(),
                    reason: reason.to_owned(),
                });
            }
        };
        let running = running.rooted(program.unwrap_or(running));
        let mut reach = reach::analyse(&running, patch);
        // An updateable item the patch removes stays callable by the code that names it, with
        // its old code, which would go on reaching the old change.
        for key in &self.removed {
            if let Some(through) = reach.switched.remove(key.path) {
                let mut chain = vec![key.path.to_owned()];
                chain.extend(through);
                reach.unreached.push(Unreached {
                    item: chain.last().cloned().unwrap_or_default(),
                    chain,
                    root: "an updateable item the patch removes, which the code that names it \
                           still calls"
                        .to_owned(),
                });
            }
        }
        if !reach.unreached.is_empty() && !accepting.unreached {
            return Err(UpdateError::Unreached { changes: reach.unreached });
        }
        let mut unchanged = Vec::with_capacity(self.unchanged.len());
        for keyed in std::mem::take(&mut self.unchanged) {
            let path = keyed.key.path;
            let through = match reach.switched.get(path) {
                Some(through) => Some(through.clone()),
                None if reach.any_change && !patch.has_updateable(path) => Some(Vec::new()),
                None => None,
            };
            match through {
                Some(through) => {
                    self.reached.push((keyed.key, through));
                    self.replaced.push(keyed);
                }
                None => unchanged.push(keyed),
            }
        }
        self.unchanged = unchanged;
        let switched =
            self.replaced.iter().chain(&self.added).chain(self.retyped.iter().map(|r| &r.1));
        let forked = reach::forked(&running, patch, &mut switched.map(|keyed| keyed.key.path));
        if !forked.is_empty() && !accepting.forked_state {
            return Err(UpdateError::ForkedState { states: forked });
        }
        self.unreached = reach.unreached;
        self.forked = forked;
        self.analysed = true;
        Ok(())
    }

    /// Moves to `retyped` each removed item of a converting update that the patch has under
    /// the same path, written alike, with a signature that differs from the running one only
    /// in types the conversions change (`shape::changed_between`, `shape::differs_only_in`).
    fn retype(&mut self, registry: &Registry) -> Result<(), UpdateError> {
        let mut changed = HashSet::new();
        for desc in &self.transformed_globals {
            let was = desc.was.as_ref().into_option().expect("planned with a `was` type");
            let unseen = |type_name: &str| UpdateError::Unfingerprinted {
                item: desc.path.as_str().to_owned(),
                type_name: type_name.to_owned(),
            };
            let pairs = crate::shape::changed_between(
                was,
                &desc.shape,
                crate::fingerprint::composite_alike,
            );
            changed.extend(pairs.map_err(unseen)?);
        }
        for desc in &self.converted_types {
            let live = registry.updateable_type(desc.path.as_str()).expect("planned against this");
            let unseen = |type_name: &str| UpdateError::Unfingerprinted {
                item: desc.path.as_str().to_owned(),
                type_name: type_name.to_owned(),
            };
            let pairs = crate::shape::changed_between(
                &live.shape,
                &desc.shape,
                crate::fingerprint::composite_alike,
            );
            changed.extend(pairs.map_err(unseen)?);
        }
        let mut removed = Vec::with_capacity(self.removed.len());
        for key in std::mem::take(&mut self.removed) {
            let live = registry.item(&key).expect("planned against this registry");
            let same = self.added.iter().position(|added| {
                added.key.path == key.path
                    && spelling::same(live.signature_text, added.signature_text.as_str())
                    && crate::shape::differs_only_in(
                        &live.signature,
                        &added.signature,
                        &changed,
                        crate::fingerprint::composite_alike,
                    ) == Ok(true)
            });
            match same {
                // Two items of the program share the old key: which one this is cannot be told.
                Some(_) if registry.is_ambiguous(&key) => {
                    return Err(UpdateError::AmbiguousItem { item: key.path.to_owned() });
                }
                Some(index) => {
                    let added = self.added.remove(index);
                    self.signature_changed.retain(|changed| *changed != added.key);
                    self.retyped.push((key, added));
                }
                None => removed.push(key),
            }
        }
        self.removed = removed;
        Ok(())
    }

    /// Makes room for everything the commit records, before the gate is held: the pause
    /// allocates nothing large (`Registry::reserve`). The counts of the patch's futures are
    /// noted here too, for the commit to list.
    pub(crate) fn reserve(&self, registry: &mut Registry, version: &mut Version) {
        let growth = Growth {
            replaced: self.replaced.len(),
            added: self.added.len(),
            retyped: self.retyped.len(),
            transformed: self.transformed_globals.len(),
            added_globals: self.added_globals.len(),
            converted_types: self.converted_types.len(),
            added_types: self.added_types.len(),
        };
        let descs = self.replaced.iter().chain(&self.added).chain(&self.unchanged);
        let descs = descs.chain(self.retyped.iter().map(|(_, desc)| desc));
        Registry::count_futures(version, descs.map(|keyed| keyed.desc));
        registry.reserve(version, growth);
    }

    /// Points the patch's cells at what they must reach from the commit on: the running code
    /// of the items it leaves alone, the effect ids of everything (those the commit will give
    /// to what it adds too), the program's thread state, and the live instances of the globals
    /// it shares. The running program reaches no cell of the patch before the commit (only the
    /// patch's own transformers do, on the updater's thread), so this changes nothing it runs.
    pub(crate) fn prepare(&self, registry: &Registry) {
        let access = tls::patch_access();
        for desc in self.replaced.iter().chain(&self.added).chain(&self.unchanged) {
            slot_of(desc).set_access(access);
        }
        for desc in self.replaced.iter().chain(&self.unchanged) {
            let item = registry.item(&desc.key).expect("planned against this registry");
            slot_of(desc).set_effect(item.effect);
        }
        for (old, desc) in &self.retyped {
            let item = registry.item(old).expect("planned against this registry");
            slot_of(desc).set_access(access);
            slot_of(desc).set_effect(item.effect);
        }
        for desc in &self.unchanged {
            let item = registry.item(&desc.key).expect("planned against this registry");
            slot_of(desc).set(item.current().code);
        }
        // What the patch adds gets the ids the commit will give it: patch code may run before
        // the commit (a transformer), and from the first switched cell on, every cell it calls
        // through must count for transactions.
        let mut new_effects = registry.next_effects();
        for desc in &self.added {
            slot_of(desc).set_effect(new_effects.next().expect("endless"));
        }
        for desc in &self.added_globals {
            global_of(desc).set_effect(new_effects.next().expect("endless"));
        }
        for desc in &self.added_types {
            let effect = new_effects.next().expect("endless");
            kind_of(desc).set_effect(effect);
        }
        for desc in self.shared_types.iter().chain(&self.converted_types) {
            let live = registry.updateable_type(desc.path.as_str()).expect("planned against this");
            kind_of(desc).set_effect(live.effect);
        }
        // The patch's code finds the live instance through the image that has it, which makes
        // it on first use if nothing has: no initialiser runs for the update.
        // An instance the patch made of its own before this (a constructor of the patch that
        // ran at load) is dropped from its cell: the live one is the only one.
        for desc in &self.shared_globals {
            let live = registry.global(desc.path.as_str()).expect("planned against this");
            let cell = global_of(desc);
            cell.set_effect(live.effect);
            cell.forward_to(live.instance);
            cell.set_live(live.made().unwrap_or(std::ptr::null()));
        }
        for desc in &self.transformed_globals {
            let live = registry.global(desc.path.as_str()).expect("planned against this");
            global_of(desc).set_effect(live.effect);
        }
    }

    /// The effect ids of what the commit changes: an open transaction that has called any of
    /// them holds the commit back.
    pub(crate) fn effects(&self, registry: &Registry) -> Vec<u32> {
        let item = |desc: &Keyed<'_>| registry.item(&desc.key).map(|item| item.effect);
        let global = |desc: &&GlobalDesc| registry.global(desc.path.as_str()).map(|g| g.effect);
        let items = self.replaced.iter().filter_map(item);
        let retyped = self.retyped.iter().filter_map(|(old, _)| registry.item(old));
        let items = items.chain(retyped.map(|item| item.effect));
        let globals = self.transformed_globals.iter().filter_map(global);
        // A converting update runs transformers, which may lock a shared global: no open
        // transaction may be inside one then, or both would wait for good.
        let shared = match self.converts() {
            false => [].iter(),
            true => self.shared_globals.iter(),
        };
        let types = self.converted_types.iter().filter_map(|desc| {
            registry.updateable_type(desc.path.as_str()).map(|live| live.effect)
        });
        items.chain(globals).chain(shared.filter_map(global)).chain(types).collect()
    }

    /// The new instance of every global whose type changes and of every cell of each type that
    /// changes, made by the patch's transformers from the live ones, or why one could not be
    /// made (`convert.rs`, `census.rs`). The old instances are only read. The globals are made
    /// first: a transformer of cells that reads a global sees its new value.
    pub(crate) fn convert(&self, registry: &Registry) -> Result<Converted, UpdateError> {
        if !self.converts() {
            return Ok(Converted::default());
        }
        let kinds = self.converted_types.iter().map(|desc| {
            let live = registry.updateable_type(desc.path.as_str()).expect("planned against this");
            KindConversion {
                kind: live.effect,
                from: live.fingerprint,
                to: type_fingerprint(desc),
                transform: Some(desc.transform.expect("planned with a transformer")),
                reverse: desc.reverse,
            }
        });
        // Listed before any transformer runs: one may move cells into the values it makes.
        let cells = census::begin(kinds.collect());
        // A shared global keeps its instance, whatever its descriptor says: a transformer it
        // declares is from a `was` that is not the running type (a release carried forward
        // names the type it was converted from once), and reading the live value as that type
        // would misread it.
        let global = |(desc, converts): (&&GlobalDesc, bool)| {
            let live = registry.global(desc.path.as_str()).expect("planned against this registry");
            convert::Global {
                path: desc.path.as_str(),
                cell: global_of(desc),
                live: live.instance,
                transform: desc.transform.filter(|_| converts),
            }
        };
        let converted = self.transformed_globals.iter().map(|desc| (desc, true));
        let shared = self.shared_globals.iter().map(|desc| (desc, false));
        let globals: Vec<convert::Global> = converted.chain(shared).map(global).collect();
        let mut retired = Retired::default();
        let globals = match convert::run(&globals) {
            Ok(globals) => globals,
            Err(error) => {
                cells.abandon(Vec::new(), &mut retired);
                retired.free();
                return Err(error);
            }
        };
        match cells.run(&mut retired) {
            Ok((cells, made)) => {
                // Room for every instance the commit replaces, made before the pause.
                let listed: usize = (0..self.converted_types.len()).map(|k| cells.count(k)).sum();
                retired.instances.reserve(globals.len() + listed);
                Ok(Converted { globals, cells: Some((cells, made)), retired })
            }
            Err(failed) => {
                // The globals' new instances go too: the patch's cells, which pointed at them,
                // point nowhere, and the patch is never switched in.
                for (desc, made) in self.transformed_globals.iter().zip(&globals) {
                    global_of(desc).set_live(std::ptr::null());
                    retired.instances.push(made.instance);
                }
                retired.free();
                Err(UpdateError::StateTransformFailed {
                    type_name: self.converted_types[failed.kind].path.as_str().to_owned(),
                    cell: failed.cell + 1,
                    cells: failed.cells,
                    message: failed.message,
                })
            }
        }
    }

    /// Switches every cell the plan changes, `converted` being what `convert` made, and
    /// records the version. Returns the conversions, for the report. Nothing here can fail.
    ///
    /// The patch's code becomes reachable at the first cell `replace` switches, and a call that
    /// runs outside any transaction is not held: so every other cell of the patch is complete
    /// first (every effect id given by `prepare`, the added items registered, the globals
    /// attached to their instances), and the replaced items switch last.
    ///
    /// Returns, besides, what the commit replaced (the old instances), for the caller to drop
    /// once the gate is open.
    pub(crate) fn commit(
        &self,
        registry: &mut Registry,
        mut version: Version,
        converted: Converted,
    ) -> (Vec<ConvertedGlobal>, Vec<ConvertedCells>, Retired) {
        for desc in &self.unchanged {
            registry.share_item(desc.key, desc);
        }
        for desc in &self.added {
            registry.add_item(&mut version, desc.key, desc);
        }
        for desc in &self.shared_globals {
            registry.share_global(desc);
        }
        for desc in &self.added_globals {
            registry.add_global(&mut version, desc);
        }
        for desc in &self.added_types {
            registry.add_type(&mut version, desc);
        }
        let mut retired = converted.retired;
        let mut conversions = Vec::with_capacity(converted.globals.len());
        for (desc, made) in self.transformed_globals.iter().zip(&converted.globals) {
            let counted = (made.values, made.took);
            let (conversion, replaced) =
                registry.convert_global(&mut version, desc, made.instance, counted);
            conversions.push(conversion);
            retired.instances.extend(replaced);
        }
        let mut cells = Vec::with_capacity(self.converted_types.len());
        if let Some((converting, made)) = converted.cells {
            converting.commit(&made, &mut retired);
            for (desc, made) in self.converted_types.iter().zip(&made) {
                let conversion = converted_cells(desc, version.info.id, made);
                registry.convert_type(&mut version, desc);
                cells.push(conversion);
            }
        }
        for desc in &self.replaced {
            registry.replace(&mut version, desc.key, desc);
        }
        for (old, desc) in &self.retyped {
            registry.retype(&mut version, *old, desc.key, desc);
        }
        registry.push(version);
        (conversions, cells, retired)
    }

    /// What the commit did, for the operator, with no timings yet: `converted` as the commit
    /// returned it. Built after the commit, outside the pause.
    ///
    /// Before the commit (a check), it is the report the update would give: `version` is the
    /// version it would make, and the items the patch adds are named by its descriptors.
    pub(crate) fn report(
        &self,
        registry: &Registry,
        version: VersionInfo,
        (converted, converted_cells): (Vec<ConvertedGlobal>, Vec<ConvertedCells>),
    ) -> UpdateReport {
        let item_ref = |key: &Key| match registry.item(key) {
            Some(item) => item.item_ref(key),
            None => {
                let new = self.added.iter().chain(self.retyped.iter().map(|(_, new)| new));
                let desc = new.clone().find(|desc| desc.key == *key).expect("planned");
                ItemRef { path: key.path.to_owned(), signature: desc.signature_text.to_string() }
            }
        };
        let refs = |keys: &mut dyn Iterator<Item = Key>| -> Vec<ItemRef> {
            keys.map(|key| item_ref(&key)).collect()
        };
        UpdateReport {
            replaced: refs(
                &mut self
                    .replaced
                    .iter()
                    .chain(self.retyped.iter().map(|(_, new)| new))
                    .map(|d| d.key),
            ),
            reached: self
                .reached
                .iter()
                .map(|(key, through)| Reached { item: item_ref(key), through: through.clone() })
                .collect(),
            unreached: self.unreached.clone(),
            forked: self.forked.clone(),
            analysed: self.analysed,
            added: refs(&mut self.added.iter().map(|desc| desc.key)),
            signature_changed: refs(&mut self.signature_changed.iter().copied()),
            removed: refs(&mut self.removed.iter().copied()),
            unchanged: self.unchanged.len(),
            added_globals: self
                .added_globals
                .iter()
                .map(|desc| ItemRef {
                    path: desc.path.as_str().to_owned(),
                    signature: desc.type_text.as_str().to_owned(),
                })
                .collect(),
            converted,
            converted_cells,
            ..UpdateReport::empty(version)
        }
    }

    /// The conversions the update would make, as a check reports them: no values made yet, by
    /// the version `id`; the cells that live now.
    pub(crate) fn conversions_ahead(
        &self,
        registry: &Registry,
        id: u64,
    ) -> (Vec<ConvertedGlobal>, Vec<ConvertedCells>) {
        let counts = census::counts();
        let cells = self.converted_types.iter().map(|desc| {
            let live = registry.updateable_type(desc.path.as_str()).expect("planned against this");
            ConvertedCells {
                type_name: desc.path.as_str().to_owned(),
                from: desc.was_text.as_str().to_owned(),
                version: id,
                cells: counts.get(&(live.effect, live.fingerprint)).copied().unwrap_or(0),
                values: 0,
                took: std::time::Duration::ZERO,
            }
        });
        let cells = cells.collect();
        let globals = self
            .transformed_globals
            .iter()
            .map(|desc| {
                let live = registry.global(desc.path.as_str()).expect("planned against this");
                ConvertedGlobal {
                    global: ItemRef {
                        path: desc.path.as_str().to_owned(),
                        signature: desc.type_text.as_str().to_owned(),
                    },
                    from: live.type_text.to_owned(),
                    version: id,
                    values: 0,
                    took: std::time::Duration::ZERO,
                }
            })
            .collect();
        (globals, cells)
    }
}

/// What a plan's conversion made: the globals' new instances, and the cells' with the census's
/// conversion they belong to.
#[derive(Default)]
pub(crate) struct Converted {
    globals: Vec<convert::Made>,
    cells: Option<(census::Converting, Vec<KindMade>)>,
    /// Where the commit puts what it replaces, with room for all of it.
    retired: Retired,
}

/// The conversion of the cells of `desc`'s type by the version `version`, as reports show it.
fn converted_cells(desc: &TypeDesc, version: u64, made: &KindMade) -> ConvertedCells {
    ConvertedCells {
        type_name: desc.path.as_str().to_owned(),
        from: desc.was_text.as_str().to_owned(),
        version,
        cells: made.cells(),
        values: made.values,
        took: made.took,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use abi_stable::std_types::RStr;

    use super::*;
    use crate::slot::Slot;

    pub(crate) fn one() -> u32 {
        1
    }

    pub(crate) fn two() -> u32 {
        2
    }

    pub(crate) fn three() -> u32 {
        3
    }

    pub(crate) fn desc(
        path: &'static str,
        body: u128,
        code: fn() -> u32,
        slot: &'static Slot<fn() -> u32>,
    ) -> ItemDesc {
        ItemDesc {
            path: RStr::from_str(path),
            signature_text: RStr::from_str("fn() -> u32"),
            signature: crate::fingerprint::shape(7, &[]),
            body: dsu_abi::Hash128::new(body),
            implementation: code as *const (),
            slot: slot.as_erased(),
            stale: code as *const (),
            futures: std::ptr::null(),
        }
    }

    #[test]
    fn plan_sorts_every_item() {
        static SLOT: Slot<fn() -> u32> = Slot::new(one);
        let registry = Registry::with_items(
            None,
            &[
                desc("t::same", 1, one, &SLOT),
                desc("t::changed", 1, one, &SLOT),
                desc("t::gone", 1, one, &SLOT),
            ],
        );
        let mut resigned = desc("t::same", 1, one, &SLOT);
        resigned.signature = crate::fingerprint::shape(8, &[]);
        let patch = [
            desc("t::same", 1, one, &SLOT),
            desc("t::changed", 2, one, &SLOT),
            desc("t::new", 1, one, &SLOT),
            resigned,
        ];
        let plan = Plan::new(&registry, &patch, &[], &[]).expect("valid");
        let paths = |items: &[Keyed<'_>]| items.iter().map(|d| d.path.as_str()).collect::<Vec<_>>();
        assert_eq!(paths(&plan.unchanged), ["t::same"]);
        assert_eq!(paths(&plan.replaced), ["t::changed"]);
        assert_eq!(paths(&plan.added), ["t::new", "t::same"]);
        assert_eq!(plan.signature_changed.iter().map(|k| k.path).collect::<Vec<_>>(), ["t::same"]);
        assert_eq!(plan.removed.iter().map(|k| k.path).collect::<Vec<_>>(), ["t::gone"]);
    }

    #[test]
    fn a_patch_whose_reach_cannot_be_told_is_refused_unless_accepted() {
        static SLOT: Slot<fn() -> u32> = Slot::new(one);
        let registry = Registry::with_items(None, &[desc("t::f", 1, one, &SLOT)]);
        let patch = [desc("t::f", 2, two, &SLOT)];
        let path = std::path::Path::new("v2.so");
        let mut plan = Plan::new(&registry, &patch, &[], &[]).expect("valid");
        let refused = plan.reach(path, (None, None), None, Accepting::default());
        assert!(matches!(refused, Err(UpdateError::Unanalysed { .. })), "{refused:?}");
        let accepting = Accepting { unreached: true, forked_state: false };
        plan.reach(path, (None, None), None, accepting).expect("accepted");
        assert!(!plan.analysed, "the report says it was not analysed");
        assert_eq!(plan.replaced.len(), 1, "the plan is as before");
    }

    #[test]
    fn plan_refuses_corrupt_manifests() {
        static SLOT: Slot<fn() -> u32> = Slot::new(one);
        let registry = Registry::with_items(None, &[desc("t::f", 1, one, &SLOT)]);
        let twice = [desc("t::g", 1, one, &SLOT), desc("t::g", 2, one, &SLOT)];
        assert!(matches!(
            Plan::new(&registry, &twice, &[], &[]),
            Err(UpdateError::DuplicateItem { .. })
        ));
        let shared = [desc("t::f", 1, one, &SLOT), desc("t::f", 2, two, &SLOT)];
        let ambiguous = Registry::with_items(None, &shared);
        assert!(matches!(
            Plan::new(&ambiguous, &shared, &[], &[]),
            Err(UpdateError::AmbiguousItem { .. })
        ));
        let mut lying = desc("t::f", 2, one, &SLOT);
        lying.signature_text = RStr::from_str("fn() -> u64");
        assert!(matches!(
            Plan::new(&registry, &[lying], &[], &[]),
            Err(UpdateError::SignatureMismatch { .. })
        ));
    }
}
