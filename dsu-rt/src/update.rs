//! `update`, `rollback` and `status`: one update is one commit.
//!
//! Load, check, plan and prepare touch nothing the program runs; then every slot switches
//! under the registry lock, and that is the commit. An error at any step before it leaves the
//! program as it was.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use dsu_abi::{op, GlobalDesc, PatchManifestRef};

use crate::alloc::Heap;
use crate::error::UpdateError;
use crate::gate::{self, Held};
use crate::host::Outcome;
use crate::patch::host;
use crate::plan::{plan, Plan};
use crate::protocol;
use crate::registry::{
    self, global_of, registry, slot_of, Converted, Implementation, Item, Key, Registry, Version,
};
use crate::report::{ItemRef, Status, UpdateReport, VersionInfo};
use crate::{build_info, fingerprint, loader};

/// How `update_with` and `rollback_with` wait for open transactions.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UpdateOptions {
    /// How long to wait for the transactions that have called items the update changes
    /// before giving up with [`UpdateError::Timeout`]. Meanwhile, transactions about to call
    /// one of those items for the first time are held. One second unless set.
    pub timeout: Duration,
}

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

/// Loads the patch at `path` and switches the program to it.
///
/// Returns what changed and how long the switch took, or why the patch was refused; then
/// nothing in the program changed. Updates from several threads run one after another; calls
/// go on running on every thread meanwhile, each in exactly one version's code.
///
/// The switch happens when no open transaction has called an item the update changes; the
/// update waits for such transactions for up to a second (see [`update_with`]). Called inside
/// a transaction it is refused: it could wait for itself.
///
/// Called from a patch's code, it acts on the running program (the one registry).
pub fn update(path: impl AsRef<Path>) -> Result<UpdateReport, UpdateError> {
    update_with(path, &UpdateOptions::default())
}

/// [`update`], waiting for conflicting transactions as `options` says.
pub fn update_with(
    path: impl AsRef<Path>,
    options: &UpdateOptions,
) -> Result<UpdateReport, UpdateError> {
    let path = path.as_ref();
    match host() {
        Some(context) => {
            let mut out: Outcome = None;
            let input: (&Path, &UpdateOptions) = (path, options);
            // SAFETY: UPDATE takes `&(&Path, &UpdateOptions)` and writes an `Outcome` (see
            // `host::call`).
            unsafe {
                (context.call)(
                    op::UPDATE,
                    (&input as *const (&Path, &UpdateOptions)).cast(),
                    (&mut out as *mut Outcome).cast(),
                )
            };
            out.expect("the running program's updater panicked")
        }
        None => update_here(path, options),
    }
}

/// Returns to the version before the last update, the same way an update commits.
pub fn rollback() -> Result<UpdateReport, UpdateError> {
    rollback_with(&UpdateOptions::default())
}

/// [`rollback`], waiting for conflicting transactions as `options` says.
pub fn rollback_with(options: &UpdateOptions) -> Result<UpdateReport, UpdateError> {
    match host() {
        Some(context) => {
            let mut out: Outcome = None;
            // SAFETY: ROLLBACK takes `&UpdateOptions` and writes an `Outcome` (see
            // `host::call`).
            unsafe {
                (context.call)(
                    op::ROLLBACK,
                    (options as *const UpdateOptions).cast(),
                    (&mut out as *mut Outcome).cast(),
                )
            };
            out.expect("the running program's updater panicked")
        }
        None => rollback_here(options),
    }
}

/// What the program runs now: the version chain, and each item with the version its code
/// comes from.
///
/// It never waits for an update: while one is under way, it answers what runs until that
/// update commits. So a transaction may report the status (a server's `INFO` command) even
/// when the update is waiting for that very transaction.
pub fn status() -> Status {
    match host() {
        Some(context) => {
            let mut out: Option<Status> = None;
            // SAFETY: STATUS writes an `Option<Status>` (see `host::call`).
            unsafe {
                (context.call)(
                    op::STATUS,
                    std::ptr::null(),
                    (&mut out as *mut Option<Status>).cast(),
                )
            };
            out.expect("the running program's registry panicked")
        }
        None => status_here(),
    }
}

pub(crate) fn status_here() -> Status {
    if let Some(registry) = registry().try_lock() {
        return registry.status();
    }
    // An update holds the registry, and may hold it until its timeout while it waits for
    // transactions: perhaps for the very one asking (a server's INFO command). What runs is
    // still what ran at the last commit.
    registry::last_status()
}

pub(crate) fn update_here(
    path: &Path,
    options: &UpdateOptions,
) -> Result<UpdateReport, UpdateError> {
    let started = Instant::now();
    if crate::transaction::in_transaction() {
        return Err(UpdateError::InsideTransaction);
    }
    // One update at a time, from reading the file to the commit.
    let mut registry = registry().lock();

    // Load and check.
    let bytes = fs::read(path)
        .map_err(|source| UpdateError::Unreadable { path: path.to_owned(), source })?;
    loader::check_shared_library(path, &bytes)?;
    let file_hash = fingerprint::of_bytes(&bytes);
    if let Some(version) = registry.versions.iter().find(|v| v.file_hash == file_hash) {
        return Err(UpdateError::AlreadyApplied {
            path: path.to_owned(),
            version: version.info.to_string(),
        });
    }
    let manifest = loader::load(path, &bytes)?;
    check_manifest(&registry, path, manifest)?;

    // Plan: the delta.
    let items = manifest.items().as_slice();
    let plan = plan(&registry, items, manifest.globals().as_slice())?;

    // Attach the patch's runtime to ours, and make sure both allocate from one heap.
    let reply = (manifest.attach())(crate::host::context());
    if !reply.attached {
        return Err(UpdateError::AttachFailed { path: path.to_owned() });
    }
    if !reply.forwards_allocations {
        let (running, patch) = (Heap::of_program(), Heap::of_image(&bytes));
        if running != Heap::Malloc || patch != Heap::Malloc {
            return Err(UpdateError::AllocatorMismatch {
                running: running.describe().to_owned(),
                patch: if patch == Heap::Malloc { patch.describe() } else { "its own allocator" }
                    .to_owned(),
            });
        }
    }

    prepare(&registry, &plan);

    // Wait until no open transaction has called what the update changes.
    let items = plan.replaced.iter().map(|desc| registry.items[&Key::of(desc)].effect);
    let globals =
        plan.transformed_globals.iter().map(|desc| registry.globals[desc.path.as_str()].effect);
    let holding = Instant::now();
    let gate = hold(items.chain(globals).collect(), options)?;

    // Convert the globals whose type changed, into new instances, while no transaction can
    // reach them. A transformer that panics leaves every old value whole.
    let transformed = transform_globals(&registry, &plan)?;

    // Commit.
    let version = VersionInfo {
        id: registry.next_id,
        label: format!("{}@{}", manifest.crate_name(), manifest.crate_version()),
        path: path.to_owned(),
        applied_at: SystemTime::now(),
    };
    let commit = Instant::now();
    let (replaced, added) =
        commit_plan(&mut registry, &plan, &transformed, version.clone(), file_hash);
    let pause = commit.elapsed();
    let (waited, waited_for) = Held::release(gate);
    let held = holding.elapsed();
    registry.next_id += 1;
    registry::publish_status(&registry);
    let report = report(&registry, &plan, version, &replaced, &added);
    Ok(UpdateReport { pause, held, total: started.elapsed(), waited, waited_for, ..report })
}

/// Holds the gate on the items and globals whose effect ids are `effects` (see `gate.rs`), or
/// says why it could not.
fn hold(effects: Vec<u32>, options: &UpdateOptions) -> Result<Option<Held>, UpdateError> {
    if effects.is_empty() {
        return Ok(None);
    }
    gate::hold(protocol::effects_of(effects), options.timeout).map(Some).map_err(|timed_out| {
        UpdateError::Timeout { waited: timed_out.waited, transactions: timed_out.open }
    })
}

/// The new instance of every global the plan converts, made by the patch's transformers from
/// the running instances, or the first transformer's panic.
fn transform_globals<'m>(
    registry: &Registry,
    plan: &Plan<'m>,
) -> Result<Vec<(&'m GlobalDesc, *const ())>, UpdateError> {
    let mut made = Vec::with_capacity(plan.transformed_globals.len());
    for &desc in &plan.transformed_globals {
        let live = &registry.globals[desc.path.as_str()];
        let transform = desc.transform.expect("planned with a transformer");
        // SAFETY: the planner checked that the running instance's type has the fingerprint of
        // the patch's `was` type, which is what the transformer reads.
        let new = unsafe { run_transformer(transform, (live.instance)(), desc.path.as_str())? };
        made.push((desc, new));
    }
    Ok(made)
}

/// Runs a patch's transformer on `instance`: the new instance, or its panic as an error. The
/// instances made before a failure are left unreachable: patches are never unloaded either,
/// and a failed update is rare.
///
/// # Safety
///
/// `instance` must be a live instance of the type the transformer reads.
unsafe fn run_transformer(
    transformer: unsafe extern "C" fn(*const (), *mut ()),
    instance: *const (),
    global: &str,
) -> Result<*const (), UpdateError> {
    let mut out = std::mem::MaybeUninit::<Result<*const (), String>>::uninit();
    // SAFETY: `instance` as the caller says; `out` is a `Result` of this build's layout (the
    // patch's build fingerprint equals ours), written before the transformer returns, unwinding
    // or not (it catches the transformation's panic).
    let result = unsafe {
        transformer(instance, out.as_mut_ptr().cast());
        out.assume_init()
    };
    result.map_err(|message| UpdateError::TransformFailed { global: global.to_owned(), message })
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
    if let Some(program) = registry.program {
        if program.name != manifest.crate_name().as_str() {
            return Err(UpdateError::WrongProgram {
                running: program.name.to_owned(),
                patch: manifest.crate_name().as_str().to_owned(),
            });
        }
    }
    Ok(())
}

/// Points the patch's slots of the items it leaves alone to the running code. Nothing reaches
/// the patch's code before the commit, so this changes nothing the program runs.
fn prepare(registry: &Registry, plan: &Plan<'_>) {
    for desc in &plan.unchanged {
        slot_of(desc).set(registry.items[&Key::of(desc)].current().code);
    }
    // The patch's code reaches the live instances of the globals it shares. Making one that
    // nothing had used yet runs its initialiser now, as its first use would have.
    for desc in &plan.shared_globals {
        let live = &registry.globals[desc.path.as_str()];
        global_of(desc).attach((live.instance)(), live.effect);
    }
}

/// Switches every slot the plan changes and records the version. Nothing here can fail.
/// Returns the keys replaced and added.
fn commit_plan(
    registry: &mut Registry,
    plan: &Plan<'_>,
    transformed: &[(&GlobalDesc, *const ())],
    version: VersionInfo,
    file_hash: u64,
) -> (Vec<Key>, Vec<Key>) {
    let id = version.id;
    let mut replaced = Vec::with_capacity(plan.replaced.len());
    for desc in &plan.replaced {
        let key = Key::of(desc);
        let item = registry.items.get_mut(&key).expect("planned against this registry");
        item.add_slot(slot_of(desc));
        item.history.push(Implementation {
            version: id,
            code: desc.implementation,
            body: desc.body,
        });
        item.switch_to(desc.implementation);
        replaced.push(key);
    }
    for desc in &plan.unchanged {
        let item = registry.items.get_mut(&Key::of(desc)).expect("planned against this registry");
        item.add_slot(slot_of(desc));
    }
    let added: Vec<Key> = plan.added.iter().map(|desc| registry.add(desc, id)).collect();
    for desc in &plan.shared_globals {
        let live = registry.globals.get_mut(desc.path.as_str()).expect("planned against this");
        live.cells.push(global_of(desc));
    }
    for desc in &plan.added_globals {
        registry.add_global(desc, id);
    }
    let mut converted = Vec::with_capacity(transformed.len());
    for &(desc, new) in transformed {
        let live = registry.globals.get_mut(desc.path.as_str()).expect("planned against this");
        converted.push(Converted {
            path: desc.path.as_str(),
            before: (live.fingerprint, live.type_text, live.instance),
            reverse: desc.reverse,
        });
        for cell in &live.cells {
            cell.set_live(new);
        }
        global_of(desc).attach(new, live.effect);
        live.cells.push(global_of(desc));
        live.fingerprint = desc.fingerprint;
        live.type_text = desc.type_text.as_str();
        live.instance = desc.instance;
    }
    registry.versions.push(Version {
        info: version,
        file_hash,
        replaced: replaced.clone(),
        added: added.clone(),
        transformed: converted,
        added_globals: plan.added_globals.iter().map(|desc| desc.path.as_str()).collect(),
    });
    (replaced, added)
}

/// What a commit did, for the operator. Built after the commit, outside the pause.
fn report(
    registry: &Registry,
    plan: &Plan<'_>,
    version: VersionInfo,
    replaced: &[Key],
    added: &[Key],
) -> UpdateReport {
    let refs = |keys: &[Key]| -> Vec<ItemRef> {
        keys.iter().map(|k| registry.items[k].item_ref(k)).collect()
    };
    UpdateReport {
        version,
        replaced: refs(replaced),
        added: refs(added),
        signature_changed: refs(&plan.signature_changed),
        removed: refs(&plan.removed),
        unchanged: plan.unchanged.len(),
        added_globals: plan
            .added_globals
            .iter()
            .map(|desc| ItemRef {
                path: desc.path.as_str().to_owned(),
                signature: desc.type_text.as_str().to_owned(),
            })
            .collect(),
        pause: Default::default(),
        held: Default::default(),
        total: Default::default(),
        waited: Default::default(),
        waited_for: Vec::new(),
    }
}

pub(crate) fn rollback_here(options: &UpdateOptions) -> Result<UpdateReport, UpdateError> {
    if crate::transaction::in_transaction() {
        return Err(UpdateError::InsideTransaction);
    }
    let mut registry = registry().lock();
    let report = rollback_in(&mut registry, options);
    if report.is_ok() {
        registry::publish_status(&registry);
    }
    report
}

fn rollback_in(
    registry: &mut Registry,
    options: &UpdateOptions,
) -> Result<UpdateReport, UpdateError> {
    let started = Instant::now();
    let Some(undone) = registry.versions.last().filter(|_| registry.versions.len() >= 2) else {
        return Err(UpdateError::NothingToRollBack);
    };
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
    let items = undone.replaced.iter().chain(&undone.added).map(|key| registry.items[key].effect);
    let globals =
        undone.transformed.iter().map(|converted| registry.globals[converted.path].effect);
    let holding = Instant::now();
    let gate = hold(items.chain(globals).collect(), options)?;

    // Convert the globals back, into new instances of their types before the update.
    let mut restored = Vec::with_capacity(undone.transformed.len());
    for converted in &undone.transformed {
        let reverse = converted.reverse.expect("checked above");
        let now = (registry.globals[converted.path].instance)();
        // SAFETY: `now` is the instance the update made, of the type the reverse reads (the
        // patch wrote both from the same two types).
        restored.push(unsafe { run_transformer(reverse, now, converted.path)? });
    }

    let undone = registry.versions.pop().expect("checked above");
    let commit = Instant::now();
    for (converted, &old) in undone.transformed.iter().zip(&restored) {
        let live = registry.globals.get_mut(converted.path).expect("a converted global stays live");
        for cell in &live.cells {
            cell.set_live(old);
        }
        (live.fingerprint, live.type_text, live.instance) = converted.before;
    }
    for key in &undone.replaced {
        let item = registry.items.get_mut(key).expect("a replaced item stays live");
        item.history.pop();
        item.switch_to(item.current().code);
    }
    // Updates are undone last first, so nothing later refers to what this version added.
    let removed: Vec<(Key, Item)> =
        undone.added.iter().filter_map(|key| registry.items.remove_entry(key)).collect();
    for path in &undone.added_globals {
        registry.globals.remove(path);
    }
    let pause = commit.elapsed();
    let (waited, waited_for) = Held::release(gate);
    let held = holding.elapsed();
    Ok(UpdateReport {
        version: registry.running().clone(),
        replaced: undone.replaced.iter().map(|k| registry.items[k].item_ref(k)).collect(),
        added: Vec::new(),
        signature_changed: Vec::new(),
        removed: removed.iter().map(|(key, item)| item.item_ref(key)).collect(),
        unchanged: 0,
        added_globals: Vec::new(),
        pause,
        held,
        total: started.elapsed(),
        waited,
        waited_for,
    })
}

/// The commit and rollback logic on descriptors made here, without loading anything: these
/// run under miri, which checks the slot stores and loads.
#[cfg(test)]
mod tests {
    use abi_stable::std_types::RStr;
    use dsu_abi::ItemDesc;

    use super::*;
    use crate::slot::Slot;

    fn one() -> u32 {
        1
    }

    fn two() -> u32 {
        2
    }

    fn three() -> u32 {
        3
    }

    fn desc(
        path: &'static str,
        body: u64,
        code: fn() -> u32,
        slot: &'static Slot<fn() -> u32>,
    ) -> ItemDesc {
        ItemDesc {
            path: RStr::from_str(path),
            signature_text: RStr::from_str("fn() -> u32"),
            signature: 7,
            body,
            implementation: code as *const (),
            slot: slot.as_erased(),
        }
    }

    fn version(id: u64) -> VersionInfo {
        VersionInfo {
            id,
            label: format!("v{id}"),
            path: Default::default(),
            applied_at: SystemTime::now(),
        }
    }

    fn apply(registry: &mut Registry, patch: &[ItemDesc]) -> UpdateReport {
        let plan = plan(registry, patch, &[]).expect("a valid patch");
        prepare(registry, &plan);
        let id = registry.next_id;
        registry.next_id += 1;
        let (replaced, added) = commit_plan(registry, &plan, &[], version(id), id);
        report(registry, &plan, version(id), &replaced, &added)
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
        assert!(!registry.items.keys().any(|k| k.path == "t::new"));
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
        resigned.signature = 8;
        let patch = [
            desc("t::same", 1, one, &SLOT),
            desc("t::changed", 2, one, &SLOT),
            desc("t::new", 1, one, &SLOT),
            resigned,
        ];
        let plan = plan(&registry, &patch, &[]).expect("valid");
        let paths = |items: &[&ItemDesc]| items.iter().map(|d| d.path.as_str()).collect::<Vec<_>>();
        assert_eq!(paths(&plan.unchanged), ["t::same"]);
        assert_eq!(paths(&plan.replaced), ["t::changed"]);
        assert_eq!(paths(&plan.added), ["t::new", "t::same"]);
        assert_eq!(plan.signature_changed.iter().map(|k| k.path).collect::<Vec<_>>(), ["t::same"]);
        assert_eq!(plan.removed.iter().map(|k| k.path).collect::<Vec<_>>(), ["t::gone"]);
    }

    #[test]
    fn plan_refuses_corrupt_manifests() {
        static SLOT: Slot<fn() -> u32> = Slot::new(one);
        let registry = Registry::with_items(None, &[desc("t::f", 1, one, &SLOT)]);
        let twice = [desc("t::g", 1, one, &SLOT), desc("t::g", 2, one, &SLOT)];
        assert!(matches!(plan(&registry, &twice, &[]), Err(UpdateError::DuplicateItem { .. })));
        let shared = [desc("t::f", 1, one, &SLOT), desc("t::f", 2, two, &SLOT)];
        let ambiguous = Registry::with_items(None, &shared);
        assert!(matches!(plan(&ambiguous, &shared, &[]), Err(UpdateError::AmbiguousItem { .. })));
        let mut lying = desc("t::f", 2, one, &SLOT);
        lying.signature_text = RStr::from_str("fn() -> u64");
        assert!(matches!(
            plan(&registry, &[lying], &[]),
            Err(UpdateError::SignatureMismatch { .. })
        ));
    }
}
