//! The fingerprint of a type, worked out from its shape graph at run time.
//!
//! A type's [`Shape`] holds its own part (a node hash, made at compile time) and functions that
//! give the shapes of the types it contains. Following them from one shape gives a finite
//! graph, with a cycle for each recursive type; the fingerprint is a hash of that graph up to
//! bisimulation, so that it is a function of the type's unfolding alone:
//!
//! 1. The graph: each function is called once, known by its address. An image may hold two
//!    copies of one type's function (one per codegen unit); they become two nodes alike.
//! 2. The coarsest partition of the nodes in which two nodes share a class only when their
//!    node hashes are equal and their parts, in order, share classes: partition refinement,
//!    starting from the node hashes, until no class splits.
//! 3. The classes reached from the root, numbered in the order a breadth-first walk finds
//!    them, and hashed in that order as (node hash, number of parts, the parts' numbers).
//!
//! A shape that reaches a refused one (`Shape::refused`, a type whose shape its image cannot
//! see) has no fingerprint: the error names the type.
//!
//! Two roots get the same hash exactly when their graphs are bisimilar, that is when the
//! types unfold into the same infinite tree: the quotient of step 2 is the smallest graph of
//! that tree, unique up to numbering, and step 3 numbers it by the tree's own order. So two
//! recursive shapes that differ anywhere in their unfolding get different fingerprints, and
//! the copies of step 1 change nothing.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use dsu_abi::{Hash128, Shape};
use sha2_const_stable::Sha256;

/// The fingerprint of the type `root` is the shape of, or the name of a type it reaches whose
/// shape is refused.
pub(crate) fn fingerprint(root: &Shape) -> Result<Hash128, &'static str> {
    fingerprint_naming(root).map(|(fingerprint, _)| fingerprint)
}

/// As `fingerprint`, with the names of the types of other crates that `root` reaches (see
/// `foreign.rs`), from the same walk: what the update compares the releases of.
pub(crate) fn fingerprint_naming(
    root: &Shape,
) -> Result<(Hash128, Vec<&'static str>), &'static str> {
    let graph = Graph::of(root)?;
    let classes = graph.bisimulation();
    let fingerprint = graph.canonical_hash(&classes);
    Ok((fingerprint, graph.names))
}

/// The types that a conversion from the type `was` is the shape of to the type `new` is the
/// shape of changes: the two graphs are walked side by side from their roots, into the parts
/// of two nodes alike or made of their parts' nodes alike (`composite`); each place where the
/// two types differ gives the fingerprints of the old type and of the new one there
/// (`Mutex<HashMap<String, v1::Session>>` to `Mutex<HashMap<String, Session>>` gives the two
/// maps, the two `Session`s, and the two whole types).
pub(crate) fn changed_between(
    was: &Shape,
    new: &Shape,
    composite: impl Fn(Hash128, &[Hash128], Hash128, &[Hash128]) -> bool,
) -> Result<Vec<(Hash128, Hash128)>, &'static str> {
    let mut changed = Vec::new();
    side_by_side(was, new, |old, new| {
        changed.push((old.fingerprint, new.fingerprint));
        // Into the parts only through a node that is the same on both sides, or made of its
        // parts' nodes alike (a std generic's names its parameters' nodes: `HashMap<String,
        // Session>` changes with `Session`): a user type whose own node changed is converted
        // whole, and its fields, perhaps reordered, pair nothing.
        let into = old.parts.len() == new.parts.len()
            && (old.node == new.node
                || composite(old.node, &old.part_nodes(), new.node, &new.part_nodes()));
        match into {
            true => Step::Parts,
            false => Step::Done,
        }
    })?;
    Ok(changed)
}

/// Whether the type `new` is the shape of differs from the type `old` is the shape of only
/// where a conversion changes types: walking the two side by side from their roots, every
/// place where they differ is one of `changed` (`changed_between`), or a node made of its
/// parts' nodes alike on both sides (`composite`: a reference, a std generic, a signature),
/// whose parts are walked in turn.
pub(crate) fn differs_only_in(
    old: &Shape,
    new: &Shape,
    changed: &std::collections::HashSet<(Hash128, Hash128)>,
    composite: impl Fn(Hash128, &[Hash128], Hash128, &[Hash128]) -> bool,
) -> Result<bool, &'static str> {
    side_by_side(old, new, |old, new| {
        if changed.contains(&(old.fingerprint, new.fingerprint)) {
            return Step::Done;
        }
        let alike = old.node == new.node
            || composite(old.node, &old.part_nodes(), new.node, &new.part_nodes());
        match alike && old.parts.len() == new.parts.len() {
            true => Step::Parts,
            false => Step::Differs,
        }
    })
}

/// One place of a walk of two shapes side by side (`side_by_side`): a node of one graph.
struct Place<'g> {
    graph: &'g Graph,
    node: Hash128,
    fingerprint: Hash128,
    parts: &'g [usize],
}

impl Place<'_> {
    fn part_nodes(&self) -> Vec<Hash128> {
        self.parts.iter().map(|&part| self.graph.nodes[part]).collect()
    }
}

/// What a walk does at a place where the two types differ.
enum Step {
    /// Nothing more here.
    Done,
    /// Walk the parts, pairwise (there are as many on both sides).
    Parts,
    /// The walk ends: the two differ in a way the caller does not accept.
    Differs,
}

/// Walks the graphs of `old` and `new` side by side from their roots, each pair of places
/// once, calling `step` where the two types differ. False if a step said `Differs`.
fn side_by_side(
    old: &Shape,
    new: &Shape,
    mut step: impl FnMut(Place<'_>, Place<'_>) -> Step,
) -> Result<bool, &'static str> {
    let (old, new) = (Graph::of(old)?, Graph::of(new)?);
    let (old_classes, new_classes) = (old.bisimulation(), new.bisimulation());
    let mut seen = std::collections::HashSet::new();
    let mut pairs = vec![(0, 0)];
    while let Some((at_old, at_new)) = pairs.pop() {
        if !seen.insert((at_old, at_new)) {
            continue;
        }
        fn place<'g>(graph: &'g Graph, at: usize, classes: &[usize]) -> Place<'g> {
            Place {
                graph,
                node: graph.nodes[at],
                fingerprint: graph.canonical_hash_from(at, classes),
                parts: graph.parts_of(at),
            }
        }
        let (old_place, new_place) =
            (place(&old, at_old, &old_classes), place(&new, at_new, &new_classes));
        if old_place.fingerprint == new_place.fingerprint {
            continue;
        }
        let (old_parts, new_parts) = (old_place.parts, new_place.parts);
        match step(old_place, new_place) {
            Step::Done => {}
            Step::Parts => pairs.extend(old_parts.iter().copied().zip(new_parts.iter().copied())),
            Step::Differs => return Ok(false),
        }
    }
    Ok(true)
}

/// The fingerprint of `root` as the image that has it keeps one in any case: where `root`
/// reaches a refused shape, a value made of `unique`, an address of the image, so that it
/// equals no other image's fingerprint and no update matches it.
pub(crate) fn fingerprint_or_unique(root: &Shape, unique: usize) -> Hash128 {
    fingerprint(root).unwrap_or_else(|_| {
        let hash = Sha256::new().update(b"dsu unseen\0").update(&(unique as u64).to_le_bytes());
        digest(hash)
    })
}

/// The first 128 bits of `hash`.
pub(crate) fn digest(hash: Sha256) -> Hash128 {
    let full = hash.finalize();
    let half = |at: usize| {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(&full[at..at + 8]);
        u64::from_le_bytes(bytes)
    };
    Hash128 { low: half(0), high: half(8) }
}

/// The shapes reachable from a root, node 0, with each node's parts as indices.
struct Graph {
    nodes: Vec<Hash128>,
    /// `parts[starts[i]..starts[i + 1]]` are node `i`'s parts.
    parts: Vec<usize>,
    starts: Vec<usize>,
    /// The names of the types of other crates among the nodes.
    names: Vec<&'static str>,
}

impl Graph {
    fn of(root: &Shape) -> Result<Graph, &'static str> {
        let mut shapes = vec![*root];
        let mut known: HashMap<usize, usize> = HashMap::new();
        let mut graph =
            Graph { nodes: Vec::new(), parts: Vec::new(), starts: vec![0], names: Vec::new() };
        let mut next = 0;
        while let Some(shape) = shapes.get(next).copied() {
            if shape.refused {
                return Err(shape.name.as_str());
            }
            if !shape.name.is_empty() {
                graph.names.push(shape.name.as_str());
            }
            graph.nodes.push(shape.node);
            for part in shape.parts.as_slice() {
                let index = match known.entry(part.0 as usize) {
                    Entry::Occupied(seen) => *seen.get(),
                    Entry::Vacant(new) => {
                        shapes.push((part.0)());
                        *new.insert(shapes.len() - 1)
                    }
                };
                graph.parts.push(index);
            }
            graph.starts.push(graph.parts.len());
            next += 1;
        }
        Ok(graph)
    }

    fn parts_of(&self, node: usize) -> &[usize] {
        &self.parts[self.starts[node]..self.starts[node + 1]]
    }

    /// The class of each node in the coarsest bisimulation (step 2).
    fn bisimulation(&self) -> Vec<usize> {
        let mut ids: HashMap<Hash128, usize> = HashMap::new();
        let mut classes: Vec<usize> = self
            .nodes
            .iter()
            .map(|node| {
                let len = ids.len();
                *ids.entry(*node).or_insert(len)
            })
            .collect();
        let mut count = ids.len();
        loop {
            // A node's new class: its old one and its parts' classes. It only ever splits a
            // class, so an unchanged count means an unchanged partition.
            let mut ids: HashMap<(usize, Vec<usize>), usize> = HashMap::new();
            let refined: Vec<usize> = (0..self.nodes.len())
                .map(|node| {
                    let parts = self.parts_of(node).iter().map(|&part| classes[part]).collect();
                    let len = ids.len();
                    *ids.entry((classes[node], parts)).or_insert(len)
                })
                .collect();
            classes = refined;
            if ids.len() == count {
                return classes;
            }
            count = ids.len();
        }
    }

    /// The hash of the classes reached from the root, in breadth-first order (step 3).
    fn canonical_hash(&self, classes: &[usize]) -> Hash128 {
        self.canonical_hash_from(0, classes)
    }

    /// The fingerprint of the type node `root` is the shape of (step 3 from there).
    fn canonical_hash_from(&self, root: usize, classes: &[usize]) -> Hash128 {
        let mut numbers: HashMap<usize, u64> = HashMap::from([(classes[root], 0)]);
        let mut order = vec![root];
        let mut hash = Sha256::new().update(b"dsu shape\0");
        let mut next = 0;
        while let Some(&node) = order.get(next) {
            let parts = self.parts_of(node);
            hash = hash
                .update(&self.nodes[node].get().to_le_bytes())
                .update(&(parts.len() as u64).to_le_bytes());
            for &part in parts {
                let fresh = numbers.len() as u64;
                let number = *numbers.entry(classes[part]).or_insert_with(|| {
                    order.push(part);
                    fresh
                });
                hash = hash.update(&number.to_le_bytes());
            }
            next += 1;
        }
        digest(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::fingerprint;

    fn fingerprint_ok(shape: &Shape) -> dsu_abi::Hash128 {
        fingerprint(shape).expect("no refused shape")
    }
    use crate::fingerprint::{of, shape, Fingerprint, Shape, ShapeOf};

    /// Leaf `1` with one part; each function is a copy of the same type's shape function, as
    /// two codegen units each have one.
    extern "C" fn copy_a() -> Shape {
        shape(1, &[ShapeOf(copy_b)])
    }
    extern "C" fn copy_b() -> Shape {
        shape(1, &[ShapeOf(copy_a)])
    }
    extern "C" fn itself() -> Shape {
        shape(1, &[ShapeOf(itself)])
    }
    extern "C" fn two_step() -> Shape {
        shape(1, &[ShapeOf(other_node)])
    }
    extern "C" fn other_node() -> Shape {
        shape(2, &[ShapeOf(two_step)])
    }

    #[test]
    fn a_signature_differs_only_in_what_a_conversion_changes() {
        use super::{changed_between, differs_only_in};
        use crate::fingerprint::{composite_alike, of_str, shape_of};
        use std::collections::HashSet;
        use std::sync::Mutex;
        struct OldSession;
        struct NewSession;
        struct Wrapper<S>(S);
        struct Repr<S>(S);
        // SAFETY: a test type, never made; only its shape is compared.
        unsafe impl Fingerprint for OldSession {
            const SHAPE: Shape = shape(of_str("Session 1"), &[ShapeOf(shape_of::<u32>)]);
        }
        // SAFETY: as above.
        unsafe impl Fingerprint for NewSession {
            const SHAPE: Shape = shape(
                of_str("Session 2"),
                &[ShapeOf(shape_of::<u32>), ShapeOf(shape_of::<String>)],
            );
        }
        // SAFETY: as above. A user type around the session: its own node stays.
        unsafe impl<S: Fingerprint> Fingerprint for Wrapper<S> {
            const SHAPE: Shape = shape(of_str("Wrapper"), &[ShapeOf(shape_of::<S>)]);
        }
        // SAFETY: as above. The same, but its own node changes with the session (a `repr`).
        unsafe impl<S: Fingerprint> Fingerprint for Repr<S> {
            const SHAPE: Shape = shape(
                crate::fingerprint::combine(&[of_str("Repr"), crate::fingerprint::node_of::<S>()]),
                &[ShapeOf(shape_of::<S>)],
            );
        }
        let changed: HashSet<_> = changed_between(
            &shape_of::<Mutex<Vec<OldSession>>>(),
            &shape_of::<Mutex<Vec<NewSession>>>(),
            composite_alike,
        )
        .unwrap()
        .into_iter()
        .collect();
        let only = |old: Shape, new: Shape| {
            differs_only_in(&old, &new, &changed, composite_alike).unwrap()
        };
        type Method<S> = fn(&'static mut S, u8) -> Option<String>;
        assert!(only(shape_of::<Method<OldSession>>(), shape_of::<Method<NewSession>>()));
        assert!(only(
            shape_of::<fn(&'static Wrapper<OldSession>)>(),
            shape_of::<fn(&'static Wrapper<NewSession>)>()
        ));
        // Anything else that changed beside the session counts.
        assert!(!only(
            shape_of::<fn(&'static mut OldSession, u8)>(),
            shape_of::<fn(&'static mut NewSession, u16)>()
        ));
        assert!(!only(shape_of::<fn(Wrapper<u8>)>(), shape_of::<fn(Wrapper<u16>)>()));
        // A node that is not a std generic's may not differ: its difference is its own.
        assert!(!only(
            shape_of::<fn(&'static Repr<OldSession>)>(),
            shape_of::<fn(&'static Repr<NewSession>)>()
        ));
    }

    #[test]
    fn copies_of_a_function_change_nothing() {
        assert_eq!(fingerprint_ok(&copy_a()), fingerprint_ok(&itself()));
        assert_ne!(fingerprint_ok(&itself()), fingerprint_ok(&two_step()));
        assert_ne!(fingerprint_ok(&two_step()), fingerprint_ok(&other_node()));
    }

    #[test]
    fn the_order_of_parts_counts() {
        extern "C" fn one() -> Shape {
            shape(1, &[])
        }
        extern "C" fn two() -> Shape {
            shape(2, &[])
        }
        let forward = shape(0, &[ShapeOf(one), ShapeOf(two)]);
        let backward = shape(0, &[ShapeOf(two), ShapeOf(one)]);
        let shorter = shape(0, &[ShapeOf(one)]);
        assert_ne!(fingerprint_ok(&forward), fingerprint_ok(&backward));
        assert_ne!(fingerprint_ok(&forward), fingerprint_ok(&shorter));
    }

    #[allow(dead_code)]
    mod wide {
        #[derive(dsu_macros::Fingerprint)]
        #[dsu(crate = crate)]
        pub(super) enum Frame {
            Text(String),
            Array(Vec<Frame>),
        }
    }

    #[allow(dead_code)]
    mod deep {
        #[derive(dsu_macros::Fingerprint)]
        #[dsu(crate = crate)]
        pub(super) enum Frame {
            Text(String),
            Array(Vec<Vec<Frame>>),
        }
    }

    #[allow(dead_code)]
    mod other_leaf {
        #[derive(dsu_macros::Fingerprint)]
        #[dsu(crate = crate)]
        pub(super) enum Frame {
            Text(Vec<u8>),
            Array(Vec<Frame>),
        }
    }

    mod mutual {
        #[derive(dsu_macros::Fingerprint)]
        #[dsu(crate = crate)]
        pub(super) struct Tree {
            pub(super) children: Vec<Branch>,
        }

        #[derive(dsu_macros::Fingerprint)]
        #[dsu(crate = crate)]
        pub(super) struct Branch {
            pub(super) tree: Option<Box<Tree>>,
            pub(super) weight: u32,
        }
    }

    mod mutual_changed {
        #[derive(dsu_macros::Fingerprint)]
        #[dsu(crate = crate)]
        pub(super) struct Tree {
            pub(super) children: Vec<Branch>,
        }

        #[derive(dsu_macros::Fingerprint)]
        #[dsu(crate = crate)]
        pub(super) struct Branch {
            pub(super) tree: Option<Box<Tree>>,
            pub(super) weight: u64,
        }
    }

    #[test]
    fn recursive_shapes_are_told_apart() {
        let frames = [of::<wide::Frame>(), of::<deep::Frame>(), of::<other_leaf::Frame>()];
        assert_ne!(frames[0], frames[1]);
        assert_ne!(frames[0], frames[2]);
        assert_ne!(frames[1], frames[2]);
        // A change two types away, through the cycle, shows at both.
        assert_ne!(of::<mutual::Tree>(), of::<mutual_changed::Tree>());
        assert_ne!(of::<mutual::Branch>(), of::<mutual_changed::Branch>());
        assert_ne!(of::<mutual::Tree>(), of::<mutual::Branch>());
        assert_eq!(of::<mutual::Tree>(), of::<mutual::Tree>());
        // The nodes alone are alike: only the graph tells the two apart.
        assert_eq!(wide::Frame::SHAPE.node, deep::Frame::SHAPE.node);
    }
}
