//! The program's census of state cells: every live cell of every updateable type, whichever
//! image made it, and for each type the fingerprint its cells have now and the conversions that
//! lead to it.
//!
//! A cell (`state.rs`) is a node the census owns, which points at the cell's instance
//! (`instance.rs`). A cell is born and dies inside a transaction that has its type among its
//! effects, as `with` runs: so while an update holds the gate on a type, no other thread makes,
//! reads or drops a cell of it, and the updater converts the cells the census lists. Only the
//! updater's own thread (a transformer, an initialiser a transformer needs; the gate never
//! holds it) may still make or drop cells then:
//!
//! - a cell it makes of the type being replaced joins the conversion (`late`);
//! - a cell of it that dies keeps its instance until the conversion ends (`deferred`), since a
//!   transformer may be reading it;
//! - a node stays allocated while a conversion lists it.
//!
//! A cell may also be born of a version's type after an update converted that type: code of
//! the older version that was running when the update came (a loop that never returns, held at
//! the gate meanwhile) makes it with the type it was compiled for. It is born converted: the
//! census runs the conversions from that type to the current one on it, so every cell of a type
//! has the current fingerprint.
//!
//! Only the program's copy of the runtime keeps the census; a patch's reaches it through the
//! host context (`BIRTH`, `DEATH`, `MOVE`). A node knows the census that made it (`home`), so
//! that a cell a patch made before it was attached stays its own.

use std::cell::Cell;
use std::collections::HashMap;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dsu_abi::Hash128;
use parking_lot::{Mutex, MutexGuard};

use crate::instance;

/// A transformer a patch exports for a type: makes an instance of the new type from one of the
/// old, writing a `Transformed` to its second argument (`global::transformed`).
pub(crate) type TransformFn = unsafe extern "C" fn(*const (), *mut ());

/// One cell, as the census owns it.
///
/// Handles of a cell (`State`) each carry a generation: the one whose generation is the
/// node's owns the cell, and reads, changes and drops the value. A conversion that moves the
/// cell into a new value (`Transform for State`) makes a handle of a new generation, which the
/// commit makes the owner; the old value's handle then owns nothing, and its drop only lets go
/// of the node. Generations come from one counter and are never reused, so a handle that a
/// failed conversion made never owns the cell.
///
/// `handles` counts every handle, the census's list while the cell lives, and every list of a
/// conversion that holds the node: the node is freed when the last one lets go.
pub(crate) struct Node {
    /// The cell's instance: replaced, at a commit, by the converted one; null once it died.
    pub(crate) live: AtomicPtr<()>,
    /// The generation of the handle that owns the cell; `DEAD` once it died.
    pub(crate) generation: AtomicU64,
    /// The cell's type: its kind id, which is the type's effect id.
    pub(crate) kind: u32,
    /// The census that made the node (its address).
    home: usize,
    handles: AtomicUsize,
    /// The generation of the handle a conversion under way moved the cell into (0: none), which
    /// the commit makes the owner.
    pending: AtomicU64,
    /// Whether that handle was dropped before the commit: the cell then has no owner after it,
    /// and dies at the commit.
    pending_gone: AtomicBool,
    /// The conversion (`Census::conversion`) that moved it last, so that one moves it once.
    moved_in: AtomicU64,
    /// Where it is in `Census::nodes`, changed only under the census's lock.
    index: AtomicUsize,
}

/// The generation of a node whose cell died: no handle has it.
pub(crate) const DEAD: u64 = u64::MAX;

/// A generation no handle had before.
fn next_generation() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The address of a node. A node lives while something counts in its `handles`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct NodeRef(pub(crate) NonNull<Node>);

// SAFETY: a node is atomics and plain values written once, and lives while it is counted.
unsafe impl Send for NodeRef {}
// SAFETY: as for `Send`.
unsafe impl Sync for NodeRef {}

impl NodeRef {
    pub(crate) fn node(&self) -> &Node {
        // SAFETY: whoever holds a `NodeRef` counts in the node's `handles` (a handle, the
        // census's list, a conversion's list), which keeps it allocated.
        unsafe { self.0.as_ref() }
    }

    /// Whether this image's census made the node.
    pub(crate) fn is_home(&self) -> bool {
        self.node().home == home()
    }

    /// Counts one more holder of the node.
    fn hold(self) -> NodeRef {
        self.node().handles.fetch_add(1, Ordering::Relaxed);
        self
    }

    /// Lets go of one count of the node, freeing it if it was the last.
    fn release(self) {
        // AcqRel: the last release sees every use through the other counts.
        if self.node().handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            // SAFETY: no one counts in the node any more: no handle, no list (the census's
            // counts while the cell lives), no conversion.
            drop(unsafe { Box::from_raw(self.0.as_ptr()) });
        }
    }
}

/// What the census knows of one updateable type.
#[derive(Debug, Default)]
struct Kind {
    /// The fingerprint its cells have.
    current: Hash128,
    /// The fingerprint of the type an update under way converts it to: its transformers may
    /// make cells of that type before the commit.
    pending: Option<Hash128>,
    /// The conversions between its versions' types, oldest first, for cells born of an older
    /// (or, after a rollback, newer) version's type.
    steps: Vec<Step>,
}

#[derive(Debug, Clone, Copy)]
struct Step {
    from: Hash128,
    to: Hash128,
    transform: TransformFn,
}

#[derive(Default)]
struct Census {
    nodes: Vec<NodeRef>,
    kinds: HashMap<u32, Kind>,
    /// The number of the conversion under way, or of the last one: a new conversion takes the
    /// next.
    conversion: u64,
    /// Whether a conversion is under way: only then may a transformer move a cell.
    converting: bool,
    /// The cells the conversion under way moved, whose new handles the commit makes the owners.
    moved: Vec<NodeRef>,
    /// The cells born during the conversion of the type it replaces, which it converts too.
    late: Vec<NodeRef>,
    /// The instances of cells that died on the updater's thread during the conversion.
    deferred: Vec<*const ()>,
}

// SAFETY: the raw instances in `deferred` are owned by the census alone, and only ever
// disposed of by the updater, once.
unsafe impl Send for Census {}

fn census() -> MutexGuard<'static, Census> {
    static CENSUS: std::sync::OnceLock<Mutex<Census>> = std::sync::OnceLock::new();
    CENSUS.get_or_init(Mutex::default).lock()
}

/// This image's census, by address.
fn home() -> usize {
    census as fn() -> MutexGuard<'static, Census> as usize
}

std::thread_local! {
    /// Whether this thread runs the conversions of a cell being born: the value converted is
    /// the birth's alone, so the cells in it move into the new value at once.
    static BIRTHING: Cell<bool> = const { Cell::new(false) };
}

/// Records that cells of the kind `kind` have the fingerprint `current` from now on, as the
/// registry does for each type the program or a committed patch declares first. A kind the
/// census knew (an id a refused patch used) starts over.
pub(crate) fn declare(kind: u32, current: Hash128) {
    census().kinds.insert(kind, Kind { current, ..Kind::default() });
}

/// Registers a cell of the kind `kind` whose instance is `instance`, converted first to the
/// kind's current type if it is of another version's: the node and the generation of its
/// owner, or why it could not be born. The calling thread runs in a transaction that has the
/// kind among its effects.
///
/// # Safety
///
/// `instance` must be a live instance that nothing else owns: the cell owns it from here on
/// (and disposes of it if it cannot be born).
pub(crate) unsafe fn birth(kind: u32, instance: *const ()) -> Result<(NodeRef, u64), String> {
    // SAFETY: the caller's contract: a live instance.
    let fingerprint = unsafe { instance::fingerprint_of(instance) };
    let steps = {
        let mut census = census();
        let known = census.kinds.entry(kind).or_insert_with(|| Kind {
            // A kind the registry has not declared yet: a type a patch adds, made by its
            // transformers before its commit.
            current: fingerprint,
            ..Kind::default()
        });
        if known.current == fingerprint || known.pending == Some(fingerprint) {
            Vec::new()
        } else if let Some(steps) = known.path(fingerprint) {
            steps
        } else {
            drop(census);
            // SAFETY: owned by this function, and read by nothing else.
            unsafe { instance::dispose(instance) };
            return Err("the cell's value is of a version of its type that no update converts \
                        to the running one"
                .to_owned());
        }
    };
    // Out of the lock: a transformer is patch code, which may make or drop cells.
    let instance = converted(instance, &steps)?;
    let generation = next_generation();
    let node = Box::new(Node {
        live: AtomicPtr::new(instance.cast_mut()),
        generation: AtomicU64::new(generation),
        kind,
        home: home(),
        // The owner's handle, and the census's list.
        handles: AtomicUsize::new(2),
        pending: AtomicU64::new(0),
        pending_gone: AtomicBool::new(false),
        moved_in: AtomicU64::new(0),
        index: AtomicUsize::new(0),
    });
    let node = NodeRef(NonNull::from(Box::leak(node)));
    let mut census = census();
    node.node().index.store(census.nodes.len(), Ordering::Relaxed);
    census.nodes.push(node);
    // Born on the updater's thread, of the type its conversion replaces: converted with it.
    let replaced = census
        .kinds
        .get(&kind)
        .is_some_and(|known| known.pending.is_some() && known.current == fingerprint_of_live(node));
    if census.converting && replaced {
        census.late.push(node.hold());
    }
    Ok((node, generation))
}

/// The fingerprint of a listed node's instance.
fn fingerprint_of_live(node: NodeRef) -> Hash128 {
    // SAFETY: a listed node's instance is live while the census's lock is held: a death takes
    // the lock to take it out, and a commit replaces it under the lock.
    unsafe { instance::fingerprint_of(node.node().live.load(Ordering::Acquire)) }
}

/// `instance`, owned by a cell being born, through `steps`: each intermediate disposed of.
fn converted(mut instance: *const (), steps: &[Step]) -> Result<*const (), String> {
    if steps.is_empty() {
        return Ok(instance);
    }
    struct Birthing;
    impl Drop for Birthing {
        fn drop(&mut self) {
            BIRTHING.with(|birthing| birthing.set(false));
        }
    }
    BIRTHING.with(|birthing| birthing.set(true));
    let _birthing = Birthing;
    for step in steps {
        // SAFETY: `instance` is a live instance of the type `step` converts from (the steps'
        // fingerprints chain), owned here; `convert` only reads it.
        let made = unsafe { crate::instance::convert(step.transform, instance) };
        // SAFETY: owned here, and read by nothing else any more.
        unsafe { instance::dispose(instance) };
        instance = made?.0;
    }
    Ok(instance)
}

/// Drops a handle of `node` of generation `generation`: if it owned the cell, the cell dies,
/// and its instance is returned for the caller to dispose of (out of the census's lock); null
/// otherwise. The calling thread runs in a transaction that has the kind among its effects.
pub(crate) fn death(node: NodeRef, generation: u64) -> *const () {
    let mut census = census();
    let mut instance = ptr::null();
    if node.node().generation.load(Ordering::Acquire) == generation {
        let killed = kill(&mut census, node).unwrap_or(ptr::null());
        if census.converting && crate::gate::is_updater() {
            // A transformer may be reading it: disposed of when the conversion ends.
            census.deferred.push(killed);
        } else {
            instance = killed;
        }
    } else if generation == node.node().pending.load(Ordering::Relaxed) {
        node.node().pending_gone.store(true, Ordering::Relaxed);
    }
    drop(census);
    node.release();
    instance
}

/// A handle of a new generation of `node`, moved from the handle of generation `generation`,
/// for the value a transformer makes: the cell moves into the new value at the commit (or at
/// once, when the value is converted for a cell being born). Refused outside a conversion, for
/// a handle that does not own its cell, and for a cell this conversion moved already: so one
/// cell never has two owners.
pub(crate) fn moved(node: NodeRef, generation: u64) -> Result<u64, &'static str> {
    let mut census = census();
    if node.node().generation.load(Ordering::Acquire) != generation {
        return Err("a transformer moved a handle of a state cell that does not own it");
    }
    if BIRTHING.with(Cell::get) {
        // The old value is the birth's alone, and is disposed of once converted.
        let new = next_generation();
        node.node().generation.store(new, Ordering::Release);
        node.hold();
        return Ok(new);
    }
    if !census.converting || !crate::gate::is_updater() {
        return Err("a state cell is moved into a new value only by an update's transformers");
    }
    if node.node().moved_in.swap(census.conversion, Ordering::Relaxed) == census.conversion {
        return Err("a transformer moved one state cell into two new values");
    }
    let new = next_generation();
    node.node().pending.store(new, Ordering::Relaxed);
    node.node().pending_gone.store(false, Ordering::Relaxed);
    // The new handle, and `moved`, which the end of the conversion lets go of.
    census.moved.push(node.hold().hold());
    Ok(new)
}

impl Kind {
    /// The steps from `from` to the current fingerprint, the shortest way.
    fn path(&self, from: Hash128) -> Option<Vec<Step>> {
        let mut reached: HashMap<Hash128, Option<usize>> = HashMap::from([(from, None)]);
        let mut frontier = vec![from];
        while !frontier.is_empty() && !reached.contains_key(&self.current) {
            let mut next = Vec::new();
            for at in frontier {
                for (index, step) in self.steps.iter().enumerate() {
                    if step.from == at && !reached.contains_key(&step.to) {
                        reached.insert(step.to, Some(index));
                        next.push(step.to);
                    }
                }
            }
            frontier = next;
        }
        let mut steps = Vec::new();
        let mut at = self.current;
        while at != from {
            let index = (*reached.get(&at)?)?;
            steps.push(self.steps[index]);
            at = self.steps[index].from;
        }
        steps.reverse();
        Some(steps)
    }
}

/// A conversion of one kind's cells: the kind, the fingerprints from and to, and the
/// transformer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KindConversion {
    pub(crate) kind: u32,
    pub(crate) from: Hash128,
    pub(crate) to: Hash128,
    /// `None` for a kind the caller found without cells (`Converting::count`): a rollback of a
    /// conversion that has no way back, which nothing needs.
    pub(crate) transform: Option<TransformFn>,
    /// The transformer back, which cells born of the new type after a rollback need.
    pub(crate) reverse: Option<TransformFn>,
}

/// The cells an update converts, listed when it begins, with the gate held. Ended by `commit`
/// or `abandon`; dropped otherwise (a panic of the updater's own code), it is abandoned.
pub(crate) struct Converting {
    kinds: Vec<KindConversion>,
    /// The nodes, by kind in the order of `kinds`, each counted.
    cells: Vec<Vec<NodeRef>>,
    ended: bool,
}

/// Lists the cells of each kind in `kinds` (those whose fingerprint is the kind's `from`) and
/// marks the conversion under way. Called by the updater with the gate held on the kinds.
pub(crate) fn begin(kinds: Vec<KindConversion>) -> Converting {
    let mut census = census();
    census.converting = true;
    census.conversion += 1;
    let mut cells: Vec<Vec<NodeRef>> = vec![Vec::new(); kinds.len()];
    let position: HashMap<u32, usize> =
        kinds.iter().enumerate().map(|(index, kind)| (kind.kind, index)).collect();
    for &node in &census.nodes {
        let Some(&index) = position.get(&node.node().kind) else { continue };
        if fingerprint_of_live(node) == kinds[index].from {
            cells[index].push(node.hold());
        }
    }
    for kind in &kinds {
        census.kinds.entry(kind.kind).or_default().pending = Some(kind.to);
    }
    Converting { kinds, cells, ended: false }
}

/// What a commit or a failed conversion took out of the program: instances to drop once the
/// gate is open, out of every lock, and the nodes the conversion counted.
#[derive(Default)]
pub(crate) struct Retired {
    pub(crate) instances: Vec<*const ()>,
    nodes: Vec<NodeRef>,
}

// SAFETY: the instances are no longer reachable from the program; only the updater that holds
// this drops them.
unsafe impl Send for Retired {}

impl Retired {
    /// Drops everything retired, with the code of the images that made it (a panicking `Drop`
    /// is caught), then lets go of the nodes.
    pub(crate) fn free(self) {
        for instance in self.instances {
            // SAFETY: retired instances are reached by nothing any more: the commit replaced
            // them (or the conversion that made them failed, or their cell died), and the gate
            // had every transaction that could hold a reference closed.
            unsafe { instance::dispose(instance) };
        }
        for node in self.nodes {
            node.release();
        }
    }
}

/// What a conversion made of one kind's cells.
pub(crate) struct KindMade {
    /// The new instance of each cell, in the order of `Converting::cells`; null for a cell
    /// that died first.
    instances: Vec<*const ()>,
    /// How many values of the program's types the transformers made.
    pub(crate) values: u64,
    /// How long it took.
    pub(crate) took: Duration,
}

impl KindMade {
    /// How many cells it converted.
    pub(crate) fn cells(&self) -> usize {
        self.instances.iter().filter(|instance| !instance.is_null()).count()
    }
}

/// A conversion of cells that failed: at the `cell`th of the `cells` cells of the `kind`th
/// kind, with the transformer's message.
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) kind: usize,
    pub(crate) cell: usize,
    pub(crate) cells: usize,
    pub(crate) message: String,
}

impl Converting {
    /// How many cells of the `kind`th kind it lists.
    pub(crate) fn count(&self, kind: usize) -> usize {
        self.cells[kind].len()
    }

    /// Makes the new instance of every listed cell with its kind's transformer, on the
    /// updater's thread, the old instances only read; and of every cell of those types that a
    /// transformer makes meanwhile. On a failure, what was made is retired with the conversion
    /// abandoned, and the cells are as they were.
    pub(crate) fn run(
        mut self,
        retired: &mut Retired,
    ) -> Result<(Converting, Vec<KindMade>), Failed> {
        let mut made: Vec<KindMade> = (self.kinds.iter())
            .map(|_| KindMade { instances: Vec::new(), values: 0, took: Duration::ZERO })
            .collect();
        loop {
            if let Err(failed) = self.convert_listed(&mut made) {
                let made = made.into_iter().flat_map(|kind| kind.instances).collect();
                self.abandon(made, retired);
                return Err(failed);
            }
            // The cells the transformers made of the types they replace, if any.
            let late = std::mem::take(&mut census().late);
            if late.is_empty() {
                return Ok((self, made));
            }
            for node in late {
                let kind = self.kinds.iter().position(|kind| kind.kind == node.node().kind);
                self.cells[kind.expect("only the kinds being converted")].push(node);
            }
        }
    }

    /// Converts every listed cell `made` has no new instance of yet.
    fn convert_listed(&self, made: &mut [KindMade]) -> Result<(), Failed> {
        for (index, (kind, cells)) in self.kinds.iter().zip(&self.cells).enumerate() {
            let started = Instant::now();
            let of_kind = &mut made[index];
            while of_kind.instances.len() < cells.len() {
                let position = of_kind.instances.len();
                let live = cells[position].node().live.load(Ordering::Acquire).cast_const();
                // A cell that died meanwhile is not converted.
                let result = match (live.is_null(), kind.transform) {
                    (true, _) => Ok((ptr::null(), 0)),
                    (false, None) => Err("the type has no transformer back".to_owned()),
                    // SAFETY: the listed instance is of the kind's `from` type (`begin`,
                    // `birth`), live (no other thread drops it while the gate is held, and this
                    // one defers it), and only read.
                    (false, Some(transform)) => unsafe {
                        crate::instance::convert(transform, live)
                    },
                };
                match result {
                    Ok((instance, values)) => {
                        of_kind.instances.push(instance);
                        of_kind.values += values;
                    }
                    Err(message) => {
                        let cells = cells.len();
                        return Err(Failed { kind: index, cell: position, cells, message });
                    }
                }
            }
            of_kind.took += started.elapsed();
        }
        Ok(())
    }

    /// Puts `made[k][i]`, the new instance of cell `i` of kind `k`, in each cell, makes the
    /// handles the transformers moved the owners, and records the kinds' new fingerprints and
    /// their conversions. The old instances are retired, as are the new ones of cells that died
    /// meanwhile. Cannot fail.
    pub(crate) fn commit(mut self, made: &[KindMade], retired: &mut Retired) {
        let mut census = census();
        for (cells, made) in self.cells.iter().zip(made) {
            for (node, &made) in cells.iter().zip(&made.instances) {
                if made.is_null() {
                    continue;
                }
                let old = match node.node().generation.load(Ordering::Relaxed) {
                    DEAD => made,
                    // Release: pairs with the Acquire of `State::with`.
                    _ => node.node().live.swap(made.cast_mut(), Ordering::AcqRel).cast_const(),
                };
                retired.instances.push(old);
            }
        }
        for node in std::mem::take(&mut census.moved) {
            let pending = node.node().pending.swap(0, Ordering::Relaxed);
            let gone = node.node().pending_gone.swap(false, Ordering::Relaxed);
            match node.node().generation.load(Ordering::Relaxed) {
                DEAD => {}
                // The value it was moved into was dropped before the commit: no one owns it.
                _ if gone => retired.instances.extend(kill(&mut census, node)),
                _ => node.node().generation.store(pending, Ordering::Release),
            }
            retired.nodes.push(node);
        }
        for conversion in &self.kinds {
            let kind = census.kinds.entry(conversion.kind).or_default();
            kind.current = conversion.to;
            kind.pending = None;
            if let Some(transform) = conversion.transform {
                kind.steps.push(Step { from: conversion.from, to: conversion.to, transform });
            }
            if let Some(reverse) = conversion.reverse {
                kind.steps.push(Step {
                    from: conversion.to,
                    to: conversion.from,
                    transform: reverse,
                });
            }
        }
        self.end(&mut census, retired);
    }

    /// Ends a conversion that failed: the cells keep their instances and owners, and `made`,
    /// what it made before the failure, is retired (the handles in it own nothing).
    pub(crate) fn abandon(mut self, made: Vec<*const ()>, retired: &mut Retired) {
        retired.instances.extend(made.into_iter().filter(|made| !made.is_null()));
        let mut census = census();
        self.undo(&mut census, retired);
    }

    /// The kinds back as they were, and the conversion ended.
    fn undo(&mut self, census: &mut Census, retired: &mut Retired) {
        for conversion in &self.kinds {
            if let Some(kind) = census.kinds.get_mut(&conversion.kind) {
                kind.pending = None;
            }
        }
        for node in std::mem::take(&mut census.moved) {
            node.node().pending.store(0, Ordering::Relaxed);
            node.node().pending_gone.store(false, Ordering::Relaxed);
            retired.nodes.push(node);
        }
        self.end(census, retired);
    }

    /// Ends the conversion: what it deferred and counted goes to `retired`.
    fn end(&mut self, census: &mut Census, retired: &mut Retired) {
        census.converting = false;
        retired.instances.append(&mut census.deferred);
        retired.nodes.append(&mut census.late);
        retired.nodes.extend(self.cells.drain(..).flatten());
        self.ended = true;
    }
}

impl Drop for Converting {
    fn drop(&mut self) {
        if !self.ended {
            let mut retired = Retired::default();
            self.undo(&mut census(), &mut retired);
            retired.free();
        }
    }
}

/// Takes the cell of `node` out of the census, and lets go of the list's count: it dies. Its
/// instance, for the caller to dispose of.
fn kill(census: &mut Census, node: NodeRef) -> Option<*const ()> {
    let index = node.node().index.load(Ordering::Relaxed);
    census.nodes.swap_remove(index);
    if let Some(moved) = census.nodes.get(index) {
        moved.node().index.store(index, Ordering::Relaxed);
    }
    node.node().generation.store(DEAD, Ordering::Release);
    let instance = node.node().live.swap(ptr::null_mut(), Ordering::Acquire);
    node.release();
    (!instance.is_null()).then_some(instance.cast_const())
}

/// How many live cells each kind has, by fingerprint.
pub(crate) fn counts() -> HashMap<(u32, Hash128), usize> {
    let census = census();
    let mut counts = HashMap::new();
    for &node in &census.nodes {
        *counts.entry((node.node().kind, fingerprint_of_live(node))).or_insert(0) += 1;
    }
    counts
}
