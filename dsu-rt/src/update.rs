//! The pipeline of an update and of a rollback: one update is one commit.
//!
//! Load, check, plan, attach and prepare touch nothing the program runs. Then update and
//! rollback go through one skeleton (`switch`): hold the gate on what changes, convert the
//! globals whose type changes into new instances, switch every cell under the registry lock
//! (the commit), release the gate. An error at any step before the commit leaves the program
//! as it was.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dsu_abi::{HostContext, PatchManifestRef};

use crate::alloc::Heap;
use crate::census::{self, KindConversion, Retired};
use crate::error::UpdateError;
use crate::gate::{self, Held};
use crate::linkage;
use crate::lock::{self, Record};
use crate::manifest::Manifest;
use crate::plan::{Accepting, Plan};
use crate::registry::{registry, Registry, Release};
use crate::report::{ConvertedCells, UpdateReport};
use crate::transaction;
use crate::trust;
use crate::{copies, files, fingerprint, images, loader, protocol, reach, record};
use parking_lot::MutexGuard;

/// How `update_with` and `rollback_with` wait for open transactions.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UpdateOptions {
    /// How long to wait for the transactions that have called items the update changes
    /// before giving up with [`UpdateError::Timeout`]. Meanwhile, transactions about to call
    /// one of those items for the first time are held. One second unless set.
    ///
    /// An update or rollback under way on another thread is waited for as long, before giving
    /// up with [`UpdateError::Busy`].
    pub timeout: Duration,
    /// Where the patch's minisign signature is, when the program trusts signing keys
    /// (`dsu::trust`); `<patch>.minisig` unless set.
    pub signature: Option<PathBuf>,
    /// Whether to convert globals in a program built with `panic = "abort"`, where a
    /// transformer's panic (or that of an initialiser the conversion runs) cannot be caught
    /// and ends the process. Unless set, such an update or rollback is refused with
    /// [`UpdateError::AbortsOnPanic`]; updates that convert nothing never need it.
    pub accept_abort: bool,
    /// Whether to apply a patch some of whose changes code no update switches still reaches,
    /// which keeps running their old versions (listed in the report's `unreached`), or whose
    /// reach cannot be told. Unless set, such an update is refused with
    /// [`UpdateError::Unreached`] or [`UpdateError::Unanalysed`].
    pub accept_unreached: bool,
    /// Whether to apply a patch whose switched code names plain state the running program has,
    /// which the patch's code would have its own copy of (listed in the report's `forked`).
    /// Unless set, such an update is refused with [`UpdateError::ForkedState`].
    pub accept_forked_state: bool,
}

crate::fingerprint::dsu_types! { UpdateOptions, }

impl Default for UpdateOptions {
    fn default() -> Self {
        UpdateOptions {
            timeout: Duration::from_secs(1),
            signature: None,
            accept_abort: false,
            accept_unreached: false,
            accept_forked_state: false,
        }
    }
}

impl UpdateOptions {
    /// Sets how long to wait for conflicting transactions.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets whether to convert globals in a program built with `panic = "abort"`
    /// ([`accept_abort`](Self::accept_abort)).
    pub fn accept_abort(mut self, accept: bool) -> Self {
        self.accept_abort = accept;
        self
    }

    /// Sets whether to apply a patch some of whose changes would not reach the running code
    /// ([`accept_unreached`](Self::accept_unreached)).
    pub fn accept_unreached(mut self, accept: bool) -> Self {
        self.accept_unreached = accept;
        self
    }

    /// Sets whether to apply a patch whose switched code names plain state
    /// ([`accept_forked_state`](Self::accept_forked_state)).
    pub fn accept_forked_state(mut self, accept: bool) -> Self {
        self.accept_forked_state = accept;
        self
    }

    /// Sets where the patch's signature is.
    pub fn signature(mut self, path: impl Into<PathBuf>) -> Self {
        self.signature = Some(path.into());
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
    let (_updater, mut registry) = begin(options)?;
    let (bytes, _) = read_signed(path, options)?;
    let file = loader::shared_library(path, &bytes)?;
    let loaded = load(&mut registry, path, &bytes, &file, options)?;
    let plan = plan(&registry, path, &file, &loaded, options)?;
    // From the attach on, the image has run more than its constructors: a retry loads afresh.
    registry.forget_loaded();
    attach(path, &file, loaded.image, context)?;
    let release = Release::of(&loaded.manifest);
    images::name(loaded.image.attach() as *const (), &release.label);
    let mut version = registry.new_version(release, path.to_owned(), loaded.file_hash);
    version.graph = loaded.graph;
    apply(&mut registry, &plan, version, options, started)
}

/// What an update of the patch at `path` would do, with every check it makes, and nothing
/// switched: the report it would give, without the timings of a switch, and with the open
/// transactions it would wait for now. The patch is loaded, as an update loads it, and an
/// update of the same bytes switches to that image.
pub(crate) fn check_here(
    path: &Path,
    options: &UpdateOptions,
) -> Result<UpdateReport, UpdateError> {
    let started = Instant::now();
    let (_updater, mut registry) = begin(options)?;
    let (bytes, _) = read_signed(path, options)?;
    let file = loader::shared_library(path, &bytes)?;
    let loaded = load(&mut registry, path, &bytes, &file, options)?;
    let plan = plan(&registry, path, &file, &loaded, options)?;
    let version = registry.new_version(Release::of(&loaded.manifest), path.to_owned(), 0).info;
    let effects = plan.effects(&registry);
    let waits_for = match effects.is_empty() {
        true => Vec::new(),
        false => record::open_conflicting(&protocol::effects_of(effects)),
    };
    let converted = plan.conversions_ahead(&registry, version.id);
    let report = plan.report(&registry, version, converted);
    Ok(UpdateReport { dry_run: true, waited_for: waits_for, total: started.elapsed(), ..report })
}

/// A patch file checked and loaded.
struct Loaded {
    manifest: Manifest,
    /// Its crate graph, from the file.
    graph: Option<reach::Graph>,
    image: PatchManifestRef,
    file_hash: u64,
}

/// Every check of the patch file `bytes` (parsed: `file`) before its code runs, then the image
/// loaded from exactly these bytes, or the one the last check or update loaded from them and
/// did not attach: a patch checked, or refused before its attach, and tried again runs its
/// constructors once.
fn load(
    registry: &mut Registry,
    path: &Path,
    bytes: &[u8],
    file: &object::read::File<'_>,
    options: &UpdateOptions,
) -> Result<Loaded, UpdateError> {
    let (manifest, needed) = check_file(registry, path, bytes, file)?;
    let graph = reach::Graph::of_image(file)
        .map_err(|reason| UpdateError::BadManifest { path: path.to_owned(), reason })?;
    // Known from the file: refused before the patch's code runs (`Plan::reach` says the same).
    let missing = match (registry.running_version().graph.is_some(), graph.is_some()) {
        (false, _) => Some("the running version has no crate graph"),
        (true, false) => Some("the patch has no crate graph"),
        (true, true) => None,
    };
    if let Some(reason) = missing.filter(|_| !options.accept_unreached) {
        return Err(UpdateError::Unanalysed { path: path.to_owned(), reason: reason.to_owned() });
    }
    let file_hash = fingerprint::of_bytes(bytes);
    if let Some(version) = registry.applied(file_hash) {
        return Err(UpdateError::AlreadyApplied {
            path: path.to_owned(),
            version: version.to_string(),
        });
    }
    trust::before_load(path, &manifest)?;
    let image = match registry.loaded(bytes) {
        Some(image) => image,
        None => {
            let image = loader::load(path, bytes)?;
            registry.keep_loaded(bytes.to_owned(), image);
            image
        }
    };
    // The libraries the patch needs stay loaded until the patch is: the loader finds them by
    // name then, as the check did.
    drop(needed);
    if Manifest::parse(image.manifest_section().as_slice()).as_ref() != Ok(&manifest) {
        return Err(UpdateError::BadManifest {
            path: path.to_owned(),
            reason: "the manifest its code builds is not the one its file declares".to_owned(),
        });
    }
    Ok(Loaded { manifest, graph, image, file_hash })
}

/// The plan of the loaded patch, and every check of it: what the changes of plain code reach,
/// the releases of the other crates' types that cross, and whether its conversions can run.
fn plan(
    registry: &Registry,
    path: &Path,
    file: &object::read::File<'_>,
    loaded: &Loaded,
    options: &UpdateOptions,
) -> Result<Plan<'static>, UpdateError> {
    let image = &loaded.image;
    let (items, globals) = (image.items().as_slice(), image.globals().as_slice());
    let mut plan = Plan::new(registry, items, globals, image.types().as_slice())?;
    let accepting = Accepting {
        unreached: options.accept_unreached,
        forked_state: options.accept_forked_state,
    };
    let running = (registry.program_graph(), registry.running_version().graph.as_ref());
    plan.reach(path, running, loaded.graph.as_ref(), accepting)?;
    // The types of other crates that cross the update, of the releases the program has.
    let running_record = registry.program().and_then(|p| Record::new(p.lock, p.path_crates));
    lock::check_crossing(
        path,
        &plan.crossing,
        Record::of_image(file).as_ref(),
        running_record.as_ref(),
    )?;
    let converted = plan.transformed_globals.iter().map(|desc| desc.path.as_str());
    let converted = converted.chain(plan.converted_types.iter().map(|desc| desc.path.as_str()));
    check_catchable(registry, converted.collect(), options)?;
    Ok(plan)
}

/// The bytes of the patch file at `path`, read once, and whether a trusted key signed them
/// (checked before anything else reads them; `false` when the program trusts no key).
pub(crate) fn read_signed(
    path: &Path,
    options: &UpdateOptions,
) -> Result<(Vec<u8>, bool), UpdateError> {
    let bytes = files::read_regular(path)
        .map_err(|source| UpdateError::Unreadable { path: path.to_owned(), source })?;
    let signed = trust::check_signature(path, options.signature.as_deref(), &bytes)?;
    Ok((bytes, signed))
}

/// The manifest section of the patch file at `path` (parsed: `file`).
pub(crate) fn manifest_of(
    path: &Path,
    file: &object::read::File<'_>,
) -> Result<Manifest, UpdateError> {
    Manifest::of_image(file)
        .map_err(|reason| UpdateError::BadManifest { path: path.to_owned(), reason })?
        .ok_or_else(|| UpdateError::NotAPatch { path: path.to_owned() })
}

/// Every check of the patch file `bytes` (parsed: `file`) that needs nothing loaded: what its
/// manifest section says, and what it needs from the process. Returns its manifest, and the
/// libraries it needs, held loaded.
fn check_file(
    registry: &Registry,
    path: &Path,
    bytes: &[u8],
    file: &object::read::File<'_>,
) -> Result<(Manifest, linkage::Needed), UpdateError> {
    let manifest = manifest_of(path, file)?;
    check_manifest(registry, path, &manifest)?;
    trust::check_release(path, &manifest)?;
    let program = registry.program();
    let (patch_record, running_record) = (
        Record::of_image(file),
        program.and_then(|program| Record::new(program.lock, program.path_crates)),
    );
    let needed = linkage::check(path, bytes, patch_record.as_ref(), running_record.as_ref())?;
    let own = program.map_or("", |_| registry.manifest().crate_name());
    copies::check(path, file, own, running_record.as_ref())?;
    Ok((manifest, needed))
}

/// Applies a checked plan: prepare, then the skeleton.
fn apply(
    registry: &mut Registry,
    plan: &Plan<'_>,
    version: crate::registry::Version,
    options: &UpdateOptions,
    started: Instant,
) -> Result<UpdateReport, UpdateError> {
    let mut version = version;
    plan.reserve(registry, &mut version);
    plan.prepare(registry);
    switch(
        registry,
        plan.effects(registry),
        options,
        started,
        |registry| plan.convert(registry),
        |registry, converted| {
            let (globals, cells, retired) = plan.commit(registry, version, converted);
            ((globals, cells), retired)
        },
        |registry, converted| plan.report(registry, registry.running().clone(), converted),
    )
}

/// Returns to the version before the last update, the same way an update commits.
pub(crate) fn rollback_here(options: &UpdateOptions) -> Result<UpdateReport, UpdateError> {
    let (_updater, mut registry) = begin(options)?;
    rollback_in(&mut registry, options)
}

/// Marks this thread as the updater and takes the registry, for one update or rollback at a
/// time, from reading the file to the commit; or says why not: the program was built with
/// `dsu/disabled`, called by code an update runs (it would wait for itself), inside a transaction (which it may have to wait for), or while
/// another update stayed under way for the whole timeout.
fn begin(
    options: &UpdateOptions,
) -> Result<(gate::Updater, MutexGuard<'static, Registry>), UpdateError> {
    if cfg!(feature = "disabled") {
        return Err(UpdateError::Disabled);
    }
    let updater = gate::Updater::mark().ok_or(UpdateError::InsideUpdate)?;
    if transaction::in_transaction() {
        return Err(UpdateError::InsideTransaction);
    }
    let waiting = Instant::now();
    let registry = registry()
        .try_lock_for(options.timeout)
        .ok_or_else(|| UpdateError::Busy { waited: waiting.elapsed() })?;
    Ok((updater, registry))
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
    // A type converted without a way back is in the way only if cells of it live: checked
    // now, and again once the gate holds them.
    let counts = census::counts();
    let live_cells = |converted: &&crate::registry::ConvertedType| {
        let effect = registry.updateable_type(converted.path).expect("stays").effect;
        converted.reverse.is_none() && counts.contains_key(&(effect, converted.after))
    };
    let irreversible: Vec<String> =
        undone.converted_types.iter().filter(live_cells).map(|c| c.path.to_owned()).collect();
    if !irreversible.is_empty() {
        return Err(UpdateError::IrreversibleUpdate { globals: irreversible });
    }
    let converted = undone.transformed.iter().map(|c| c.path);
    let converted = converted.chain(undone.converted_types.iter().map(|c| c.path));
    check_catchable(registry, converted.collect(), options)?;
    // A transaction that has run an item the version added runs that version's code: it
    // holds the rollback back as one that ran an item the version replaced does.
    let item = |key| registry.item(key).expect("an updated item stays live").effect;
    let global = |path| registry.global(path).expect("a converted global stays live").effect;
    let of_type = |path| registry.updateable_type(path).expect("a converted type stays").effect;
    let items = undone.replaced.iter().chain(&undone.added).map(item);
    let globals = undone.transformed.iter().map(|c| global(c.path));
    let types = undone.converted_types.iter().map(|c| of_type(c.path));
    // A conversion back runs transformers, which may lock any global: as for an update, no open
    // transaction may be inside one then.
    let converts = !undone.transformed.is_empty() || !undone.converted_types.is_empty();
    let every_global = registry.global_effects().filter(|_| converts);
    let effects = items.chain(globals).chain(types).chain(every_global).collect();
    switch(
        registry,
        effects,
        options,
        started,
        // The globals and cells back, into new instances of their types before the update.
        |registry| {
            let undone = registry.last_update().expect("checked above");
            let kinds = undone.converted_types.iter().map(|converted| KindConversion {
                kind: registry.updateable_type(converted.path).expect("stays").effect,
                from: converted.after,
                to: converted.before.0,
                transform: converted.reverse,
                reverse: None,
            });
            let cells = census::begin(kinds.collect());
            let mut retired = Retired::default();
            let irreversible: Vec<String> = (undone.converted_types.iter().enumerate())
                .filter(|(index, converted)| converted.reverse.is_none() && cells.count(*index) > 0)
                .map(|(_, converted)| converted.path.to_owned())
                .collect();
            if !irreversible.is_empty() {
                cells.abandon(Vec::new(), &mut retired);
                retired.free();
                return Err(UpdateError::IrreversibleUpdate { globals: irreversible });
            }
            let restored = restore_globals(registry);
            let restored = match restored {
                Ok(restored) => restored,
                Err(error) => {
                    cells.abandon(Vec::new(), &mut retired);
                    retired.free();
                    return Err(error);
                }
            };
            match cells.run(&mut retired) {
                Ok((cells, made)) => {
                    // Room for every instance the commit replaces, made before the pause.
                    let kinds = undone.converted_types.len();
                    let listed: usize = (0..kinds).map(|kind| cells.count(kind)).sum();
                    retired.instances.reserve(restored.len() + listed);
                    Ok((restored, (cells, made), retired))
                }
                Err(failed) => {
                    // The instances made back are the rollback's alone.
                    retired.instances.extend(restored.iter().map(|(old, _)| *old));
                    retired.free();
                    Err(UpdateError::StateTransformFailed {
                        type_name: undone.converted_types[failed.kind].path.to_owned(),
                        cell: failed.cell + 1,
                        cells: failed.cells,
                        message: failed.message,
                    })
                }
            }
        },
        |registry, (restored, (cells, made), mut retired)| {
            let instances: Vec<*const ()> = restored.iter().map(|(old, _)| *old).collect();
            let (undone, replaced) = registry.undo_last(&instances);
            let back = registry.running().id;
            retired.instances.extend(replaced);
            cells.commit(&made, &mut retired);
            let converted = undone
                .version
                .transformed
                .iter()
                .zip(restored)
                .map(|(c, (_, made))| c.describe(back, (c.to, c.from()), made))
                .collect();
            let converted_cells = undone
                .version
                .converted_types
                .iter()
                .zip(&made)
                .map(|(c, made)| ConvertedCells {
                    type_name: c.path.to_owned(),
                    from: format!("{} of #{}", c.path, undone.version.info.id),
                    version: back,
                    cells: made.cells(),
                    values: made.values,
                    took: made.took,
                })
                .collect();
            ((undone, converted, converted_cells), retired)
        },
        |registry, (undone, converted, converted_cells)| UpdateReport {
            version: registry.running().clone(),
            replaced: undone
                .version
                .replaced
                .iter()
                .map(|key| {
                    // A retyped item has its old key back.
                    let retyped = undone.version.retyped.iter().find(|r| r.new == *key);
                    let key = retyped.map_or(key, |retyped| &retyped.old);
                    registry.item(key).expect("stays live").item_ref(key)
                })
                .collect(),
            removed: undone.removed.iter().map(|(key, item)| item.item_ref(key)).collect(),
            converted,
            converted_cells,
            ..UpdateReport::empty(registry.running().clone())
        },
    )
}

/// A global's instance made back by a rollback, with how many values it made, in how long.
type Restored = (*const (), (u64, Duration));

/// The instances of the globals the last update converted, made back by their reverse
/// transformers, with how many values each made and how long it took.
fn restore_globals(registry: &Registry) -> Result<Vec<Restored>, UpdateError> {
    let undone = registry.last_update().expect("checked by the caller");
    let mut restored = Vec::with_capacity(undone.transformed.len());
    for converted in &undone.transformed {
        let reverse = converted.reverse.expect("checked by the caller");
        let live = registry.global(converted.path).expect("live").instance;
        // The instance the update made: made, so its initialiser does not run.
        let now = crate::cell::instance(live).map_err(|message| {
            UpdateError::InitialiserFailed { global: converted.path.to_owned(), message }
        })?;
        let converting = Instant::now();
        // SAFETY: `now` is the instance the update made, of the type the reverse reads (the
        // patch wrote both from the same two types).
        let (old, values) =
            unsafe { crate::instance::convert(reverse, now) }.map_err(|message| {
                UpdateError::TransformFailed { global: converted.path.to_owned(), message }
            })?;
        restored.push((old, (values, converting.elapsed())));
    }
    Ok(restored)
}

/// The skeleton of every switch, an update's or a rollback's: hold the gate on `effects`,
/// `convert` while no transaction can reach what changes, `commit` (the pause), publish the
/// status, release the gate, drop what the commit replaced, `report` with the timings. A
/// failure of the hold or of `convert` leaves the program as it was.
fn switch<C, D>(
    registry: &mut Registry,
    effects: Vec<u32>,
    options: &UpdateOptions,
    started: Instant,
    convert: impl FnOnce(&Registry) -> Result<C, UpdateError>,
    commit: impl FnOnce(&mut Registry, C) -> (D, Retired),
    report: impl FnOnce(&Registry, D) -> UpdateReport,
) -> Result<UpdateReport, UpdateError> {
    let holding = Instant::now();
    let gate = hold(effects, options)?;
    let converted = convert(registry)?;
    let commit_started = Instant::now();
    let (done, retired) = commit(registry, converted);
    let pause = commit_started.elapsed();
    // Published before the gate opens: a transaction it held goes on in the new version, and
    // must not read the status of the old one.
    registry.publish_status();
    let (waited, waited_for) = Held::release(gate);
    let held = holding.elapsed();
    // No transaction can reach the replaced values: each one that could was closed when the
    // gate was held, and the commit switched every cell away from them.
    retired.free();
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
    gate::hold(changed, options.timeout, record::open_conflicting).map(Some).map_err(|refused| {
        match refused {
            gate::Refused::TimedOut { waited, open } => {
                UpdateError::Timeout { waited, transactions: open }
            }
            gate::Refused::NoBarrier => UpdateError::BarrierFailed,
        }
    })
}

/// Refuses to convert `globals` in a program built with `panic = "abort"`, where a panic of
/// the code the conversion runs would end the process, unless `options` accept that.
fn check_catchable(
    registry: &Registry,
    globals: Vec<&str>,
    options: &UpdateOptions,
) -> Result<(), UpdateError> {
    // The patch was built with the program's panic strategy (`check_manifest`).
    if globals.is_empty() || options.accept_abort || !registry.manifest().aborts_on_panic() {
        return Ok(());
    }
    Err(UpdateError::AbortsOnPanic { globals: globals.into_iter().map(str::to_owned).collect() })
}

/// Refuses a patch built differently, from another crate, on another release than the one
/// the program runs, or older than it.
fn check_manifest(
    registry: &Registry,
    path: &Path,
    manifest: &Manifest,
) -> Result<(), UpdateError> {
    let differences = registry.manifest().build_differences(manifest);
    if !differences.is_empty() {
        return Err(UpdateError::BuildMismatch { path: path.to_owned(), differences });
    }
    if registry.program().is_some() && registry.manifest().name() != manifest.name() {
        return Err(UpdateError::WrongProgram {
            running: registry.manifest().name().to_owned(),
            patch: manifest.name().to_owned(),
        });
    }
    let running = registry.running_version();
    if manifest.sequence() != 0 && manifest.sequence() <= running.info.sequence {
        return Err(UpdateError::StaleSequence {
            path: path.to_owned(),
            sequence: manifest.sequence(),
            newest: running.info.sequence,
        });
    }
    if let Some(base) = manifest.base() {
        if base != running.crate_version {
            return Err(UpdateError::WrongBase {
                path: path.to_owned(),
                base: base.to_owned(),
                running: running.crate_version.clone(),
            });
        }
    }
    Ok(())
}

/// Attaches the patch's runtime to the program's `context`, and makes sure both allocate from
/// one heap.
fn attach(
    path: &Path,
    file: &object::read::File<'_>,
    image: PatchManifestRef,
    context: &'static HostContext,
) -> Result<(), UpdateError> {
    let reply = (image.attach())(context);
    if !reply.attached {
        return Err(UpdateError::AttachFailed { path: path.to_owned() });
    }
    // Images that import the allocator from a shared library resolve it alike: a patch's
    // lookups start in the process's global scope, where the program's own resolved.
    // A program with an allocator of its own, beside a shared libstd, hides it: a patch that
    // imports the allocator would get libstd's, another heap.
    if !reply.forwards_allocations {
        let (running, patch) = (Heap::of_program(), Heap::of_image(file));
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
        let plan = Plan::new(registry, patch, &[], &[]).expect("a valid patch");
        let label = format!("v{}", registry.running().id + 1);
        let release = Release { label, ..Release::default() };
        let version = registry.new_version(release, Default::default(), registry.running().id + 1);
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
    fn every_cell_of_a_patch_has_its_effect_id_before_the_commit() {
        static PROGRAM: Slot<fn() -> u32> = Slot::new(one);
        static V2_F: Slot<fn() -> u32> = Slot::new(two);
        static V2_NEW: Slot<fn() -> u32> = Slot::new(three);
        let mut registry = Registry::with_items(None, &[desc("t::f", 1, one, &PROGRAM)]);
        let patch = [desc("t::f", 2, two, &V2_F), desc("t::new", 3, three, &V2_NEW)];
        let effect = |desc: &ItemDesc| {
            crate::cell::slot_of(desc).effect.load(std::sync::atomic::Ordering::Relaxed)
        };
        let plan = Plan::new(&registry, &patch, &[], &[]).expect("a valid patch");
        plan.prepare(&registry);
        let prepared: Vec<u32> = patch.iter().map(effect).collect();
        let version = registry.new_version(Release::default(), Default::default(), 2);
        let _ = plan.commit(&mut registry, version, Default::default());
        let committed: Vec<u32> = plan
            .replaced
            .iter()
            .chain(&plan.added)
            .map(|keyed| registry.item(&keyed.key).expect("live").effect)
            .collect();
        assert_eq!(prepared, committed, "the commit gives no cell another id");
        assert_ne!(committed[0], committed[1]);
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
