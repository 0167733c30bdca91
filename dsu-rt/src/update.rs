//! The pipeline of an update and of a rollback: one update is one commit.
//!
//! Load, check, plan, attach and prepare touch nothing the program runs. Then update and
//! rollback go through one skeleton (`switch`): hold the gate on what changes, convert the
//! globals whose type changes into new instances, switch every cell under the registry lock
//! (the commit), release the gate. An error at any step before the commit leaves the program
//! as it was.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use dsu_abi::{HostContext, PatchManifestRef};

use crate::alloc::Heap;
use crate::error::UpdateError;
use crate::gate::{self, Held};
use crate::linkage;
use crate::lock::Record;
use crate::plan::Plan;
use crate::registry::{registry, Registry};
use crate::report::UpdateReport;
use crate::{build_info, copies, fingerprint, global, loader, protocol, record, transaction};

/// How `update_with` and `rollback_with` wait for open transactions.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UpdateOptions {
    /// How long to wait for the transactions that have called items the update changes
    /// before giving up with [`UpdateError::Timeout`]. Meanwhile, transactions about to call
    /// one of those items for the first time are held. One second unless set.
    pub timeout: Duration,
}

crate::fingerprint::dsu_types! { UpdateOptions, }

impl Default for UpdateOptions {
    fn default() -> Self {
        UpdateOptions { timeout: Duration::from_secs(1) }
    }
}

impl UpdateOptions {
    /// Sets how long to wait for conflicting transactions.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// Loads the patch at `path`, checks it, attaches it to `context` (the program's) and switches
/// the program to it.
pub(crate) fn update_here(
    path: &Path,
    options: &UpdateOptions,
    context: &'static HostContext,
) -> Result<UpdateReport, UpdateError> {
    let started = Instant::now();
    if transaction::in_transaction() {
        return Err(UpdateError::InsideTransaction);
    }
    // One update at a time, from reading the file to the commit.
    let mut registry = registry().lock();

    // Load and check.
    let bytes = fs::read(path)
        .map_err(|source| UpdateError::Unreadable { path: path.to_owned(), source })?;
    loader::check_shared_library(path, &bytes)?;
    let program = registry.program();
    let (patch_record, running_record) = (
        Record::of_image(&bytes),
        program.and_then(|program| Record::new(program.lock, program.path_crates)),
    );
    linkage::check(path, &bytes, patch_record.as_ref(), running_record.as_ref())?;
    let own = program.map_or("", |program| program.crate_name);
    copies::check(path, &bytes, own, patch_record.as_ref())?;
    let file_hash = fingerprint::of_bytes(&bytes);
    if let Some(version) = registry.applied(file_hash) {
        return Err(UpdateError::AlreadyApplied {
            path: path.to_owned(),
            version: version.to_string(),
        });
    }
    let manifest = loader::load(path, &bytes)?;
    check_manifest(&registry, path, manifest)?;

    // Plan: the delta.
    let plan = Plan::new(&registry, manifest.items().as_slice(), manifest.globals().as_slice())?;
    attach(path, &bytes, manifest, context)?;
    let label = format!("{}@{}", manifest.crate_name(), manifest.crate_version());
    let version = registry.new_version(label, path.to_owned(), file_hash);
    apply(&mut registry, &plan, version, options, started)
}

/// Applies a checked plan: prepare, then the skeleton.
fn apply(
    registry: &mut Registry,
    plan: &Plan<'_>,
    version: crate::registry::Version,
    options: &UpdateOptions,
    started: Instant,
) -> Result<UpdateReport, UpdateError> {
    plan.prepare(registry);
    switch(
        registry,
        plan.effects(registry),
        options,
        started,
        |registry| plan.convert(registry),
        |registry, converted| plan.commit(registry, version, &converted),
        |registry, ()| plan.report(registry),
    )
}

/// Returns to the version before the last update, the same way an update commits.
pub(crate) fn rollback_here(options: &UpdateOptions) -> Result<UpdateReport, UpdateError> {
    if transaction::in_transaction() {
        return Err(UpdateError::InsideTransaction);
    }
    rollback_in(&mut registry().lock(), options)
}

fn rollback_in(
    registry: &mut Registry,
    options: &UpdateOptions,
) -> Result<UpdateReport, UpdateError> {
    let started = Instant::now();
    let undone = registry.last_update().ok_or(UpdateError::NothingToRollBack)?;
    let irreversible: Vec<String> = undone
        .transformed
        .iter()
        .filter(|converted| converted.reverse.is_none())
        .map(|converted| converted.path.to_owned())
        .collect();
    if !irreversible.is_empty() {
        return Err(UpdateError::IrreversibleUpdate { globals: irreversible });
    }
    // A transaction that has run an item the version added runs that version's code: it
    // holds the rollback back as one that ran an item the version replaced does.
    let item = |key| registry.item(key).expect("an updated item stays live").effect;
    let global = |path| registry.global(path).expect("a converted global stays live").effect;
    let items = undone.replaced.iter().chain(&undone.added).map(item);
    let effects = items.chain(undone.transformed.iter().map(|c| global(c.path))).collect();
    switch(
        registry,
        effects,
        options,
        started,
        // The globals back, into new instances of their types before the update.
        |registry| {
            let undone = registry.last_update().expect("checked above");
            let mut restored = Vec::with_capacity(undone.transformed.len());
            for converted in &undone.transformed {
                let reverse = converted.reverse.expect("checked above");
                let now = (registry.global(converted.path).expect("live").instance)();
                // SAFETY: `now` is the instance the update made, of the type the reverse reads
                // (the patch wrote both from the same two types).
                let old = unsafe { global::convert(reverse, now) }.map_err(|message| {
                    UpdateError::TransformFailed { global: converted.path.to_owned(), message }
                })?;
                restored.push(old);
            }
            Ok(restored)
        },
        |registry, restored| registry.undo_last(&restored),
        |registry, undone| UpdateReport {
            version: registry.running().clone(),
            replaced: undone
                .version
                .replaced
                .iter()
                .map(|key| registry.item(key).expect("stays live").item_ref(key))
                .collect(),
            removed: undone.removed.iter().map(|(key, item)| item.item_ref(key)).collect(),
            ..UpdateReport::empty(registry.running().clone())
        },
    )
}

/// The skeleton of every switch, an update's or a rollback's: hold the gate on `effects`,
/// `convert` while no transaction can reach what changes, `commit` (the pause), release the
/// gate, publish the status, `report` with the timings. A failure of the hold or of `convert`
/// leaves the program as it was.
fn switch<C, D>(
    registry: &mut Registry,
    effects: Vec<u32>,
    options: &UpdateOptions,
    started: Instant,
    convert: impl FnOnce(&Registry) -> Result<C, UpdateError>,
    commit: impl FnOnce(&mut Registry, C) -> D,
    report: impl FnOnce(&Registry, D) -> UpdateReport,
) -> Result<UpdateReport, UpdateError> {
    let holding = Instant::now();
    let gate = hold(effects, options)?;
    let converted = convert(registry)?;
    let commit_started = Instant::now();
    let done = commit(registry, converted);
    let pause = commit_started.elapsed();
    let (waited, waited_for) = Held::release(gate);
    let held = holding.elapsed();
    registry.publish_status();
    let report = report(registry, done);
    Ok(UpdateReport { pause, held, total: started.elapsed(), waited, waited_for, ..report })
}

/// Holds the gate on the items and globals whose effect ids are `effects` (see `gate.rs`), or
/// says why it could not.
fn hold(effects: Vec<u32>, options: &UpdateOptions) -> Result<Option<Held>, UpdateError> {
    if effects.is_empty() {
        return Ok(None);
    }
    let changed = protocol::effects_of(effects);
    gate::hold(changed, options.timeout, record::open_conflicting).map(Some).map_err(|timed_out| {
        UpdateError::Timeout { waited: timed_out.waited, transactions: timed_out.open }
    })
}

/// Refuses a patch built differently or from another crate.
fn check_manifest(
    registry: &Registry,
    path: &Path,
    manifest: PatchManifestRef,
) -> Result<(), UpdateError> {
    let differences = build_info::differences(&build_info::this_build(), &manifest.build());
    if !differences.is_empty() {
        return Err(UpdateError::BuildMismatch { path: path.to_owned(), differences });
    }
    if let Some(program) = registry.program() {
        if program.name != manifest.crate_name().as_str() {
            return Err(UpdateError::WrongProgram {
                running: program.name.to_owned(),
                patch: manifest.crate_name().as_str().to_owned(),
            });
        }
    }
    Ok(())
}

/// Attaches the patch's runtime to the program's `context`, and makes sure both allocate from
/// one heap.
fn attach(
    path: &Path,
    bytes: &[u8],
    manifest: PatchManifestRef,
    context: &'static HostContext,
) -> Result<(), UpdateError> {
    let reply = (manifest.attach())(context);
    if !reply.attached {
        return Err(UpdateError::AttachFailed { path: path.to_owned() });
    }
    // Images that import the allocator from a shared library resolve it alike: a patch's
    // lookups start in the process's global scope, where the program's own resolved.
    // A program with an allocator of its own, beside a shared libstd, hides it: a patch that
    // imports the allocator would get libstd's, another heap.
    if !reply.forwards_allocations {
        let (running, patch) = (Heap::of_program(), Heap::of_image(bytes));
        let one_heap = matches!(
            (running, patch),
            (Heap::Malloc, Heap::Malloc) | (Heap::Imported, Heap::Imported)
        );
        if !one_heap {
            return Err(UpdateError::AllocatorMismatch {
                running: running.describe().to_owned(),
                patch: if patch == Heap::Malloc { patch.describe() } else { "its own allocator" }
                    .to_owned(),
            });
        }
    }
    Ok(())
}

/// The commit and rollback on descriptors made here, without loading anything: these run
/// under miri, which checks the cell stores and loads.
#[cfg(test)]
mod tests {
    use dsu_abi::ItemDesc;

    use super::*;
    use crate::plan::tests::{desc, one, three, two};
    use crate::slot::Slot;

    fn apply(registry: &mut Registry, patch: &[ItemDesc]) -> UpdateReport {
        let plan = Plan::new(registry, patch, &[]).expect("a valid patch");
        let label = format!("v{}", registry.running().id + 1);
        let version = registry.new_version(label, Default::default(), registry.running().id + 1);
        super::apply(registry, &plan, version, &UpdateOptions::default(), Instant::now())
            .expect("nothing to wait for")
    }

    #[test]
    fn every_image_calls_the_newest_code_and_rollback_restores_it() {
        let _gate = crate::gate::tests::exclusive(); // rollback closes the process's gate
        static PROGRAM: Slot<fn() -> u32> = Slot::new(one);
        static V2: Slot<fn() -> u32> = Slot::new(two);
        static V3: Slot<fn() -> u32> = Slot::new(three);
        let mut registry = Registry::with_items(None, &[desc("t::f", 1, one, &PROGRAM)]);

        let report = apply(&mut registry, &[desc("t::f", 2, two, &V2)]);
        assert_eq!(report.replaced.len(), 1);
        assert_eq!(((PROGRAM.get())(), (V2.get())()), (2, 2));

        apply(&mut registry, &[desc("t::f", 3, three, &V3)]);
        assert_eq!(((PROGRAM.get())(), (V2.get())(), (V3.get())()), (3, 3, 3));

        let report = rollback_in(&mut registry, &UpdateOptions::default()).expect("back to v2");
        assert_eq!(report.version.label, "v1");
        assert_eq!(((PROGRAM.get())(), (V2.get())(), (V3.get())()), (2, 2, 2));
        rollback_in(&mut registry, &UpdateOptions::default()).expect("back to the program");
        assert_eq!(((PROGRAM.get())(), (V2.get())()), (1, 1));
        assert!(matches!(
            rollback_in(&mut registry, &UpdateOptions::default()),
            Err(UpdateError::NothingToRollBack)
        ));
    }

    #[test]
    fn an_unchanged_item_in_a_patch_calls_the_running_code() {
        static PROGRAM: Slot<fn() -> u32> = Slot::new(one);
        static V2: Slot<fn() -> u32> = Slot::new(two);
        let mut registry = Registry::with_items(None, &[desc("t::f", 1, one, &PROGRAM)]);
        // The same body fingerprint: the patch's copy is left alone and its slot points to
        // the program's code.
        let report = apply(&mut registry, &[desc("t::f", 1, two, &V2)]);
        assert_eq!((report.replaced.len(), report.unchanged), (0, 1));
        assert_eq!(((PROGRAM.get())(), (V2.get())()), (1, 1));
    }

    #[test]
    fn added_items_can_be_replaced_and_go_with_their_version() {
        let _gate = crate::gate::tests::exclusive(); // rollback closes the process's gate
        static PROGRAM: Slot<fn() -> u32> = Slot::new(one);
        static V2_F: Slot<fn() -> u32> = Slot::new(one);
        static V2_NEW: Slot<fn() -> u32> = Slot::new(two);
        static V3_F: Slot<fn() -> u32> = Slot::new(one);
        static V3_NEW: Slot<fn() -> u32> = Slot::new(three);
        let mut registry = Registry::with_items(None, &[desc("t::f", 1, one, &PROGRAM)]);

        let report =
            apply(&mut registry, &[desc("t::f", 1, one, &V2_F), desc("t::new", 2, two, &V2_NEW)]);
        assert_eq!(report.added.len(), 1);
        let report =
            apply(&mut registry, &[desc("t::f", 1, one, &V3_F), desc("t::new", 3, three, &V3_NEW)]);
        assert_eq!(report.replaced[0].path, "t::new");
        assert_eq!((V2_NEW.get())(), 3, "v2's code calls v3's replacement of v2's item");

        rollback_in(&mut registry, &UpdateOptions::default()).expect("back to v2");
        assert_eq!((V2_NEW.get())(), 2);
        let report =
            rollback_in(&mut registry, &UpdateOptions::default()).expect("back to the program");
        assert_eq!(report.removed[0].path, "t::new");
        assert!(!registry.keys().any(|k| k.path == "t::new"));
    }
}
