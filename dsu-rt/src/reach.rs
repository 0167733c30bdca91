//! What a patch's changes reach: the crate graphs of the running version and of the patch
//! (every function, method, `const`, `static` and macro, plain ones included, with their
//! fingerprints and what each one's code names; `dsu-macros`'s `graph.rs` writes them), and
//! from them:
//!
//! - the items that changed: a fingerprint other than the running version's, or new;
//! - the updateable items to switch although their own tokens are the same, because their
//!   code reaches a changed plain item without passing through another updateable item (the
//!   patch's copy of the item calls the patch's copy of the plain one);
//! - the changes that would not reach the running program: a changed plain item that code no
//!   update switches (the binary, a closure that may have been stored, a trait impl std calls,
//!   a function whose address is taken) reaches without passing through an updateable item,
//!   with that chain of callers;
//! - the plain state the switched code would fork: a plain `static` or `thread_local!` that a
//!   switched item's new code names, which is the patch's own copy, not the running value.
//!
//! Calls between updateable items go through their slots, so a path from a root stops at the
//! first updateable item: that item is switched if its own code reaches the change.

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::report::{ForkedState, Unreached};

/// The section of an image that holds its crate graph; `dsu::patch!()` names it too.
pub(crate) const GRAPH_SECTION: &str = ".dsu.graph";

/// The path prefix of a binary's items in a graph: code no update replaces.
const BINARY: &str = "{binary}::";

/// One item of a crate graph.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    kind: char,
    updateable: bool,
    /// Declared `pub`: another crate may call it.
    public: bool,
    path: String,
    fingerprint: u128,
    edges: Vec<usize>,
    /// Why code no update switches may run it.
    root: Option<String>,
}

impl Node {
    /// Plain state: a static whose value can change, which each image has a copy of.
    fn is_state(&self) -> bool {
        self.kind == 'S'
    }

    /// Whether a change of it is a change of code: not the binary's, which no update replaces.
    fn compared(&self) -> bool {
        !self.path.starts_with(BINARY)
    }
}

/// A crate graph: the items a build has (those its `cfg`s leave out are not in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Graph {
    nodes: Vec<Node>,
    by_path: HashMap<String, usize>,
}

impl Graph {
    /// The graph of the section's `bytes`; `Ok(None)` for a crate the build could not walk
    /// (or an image without the section), and why the bytes are corrupt otherwise.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Option<Graph>, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "the graph is not UTF-8".to_owned())?;
        let mut lines = text.lines();
        match lines.next() {
            Some("dsu-graph 1") => {}
            None | Some("dsu-graph 1 none") => return Ok(None),
            Some(other) => return Err(format!("the graph's header is `{other}`")),
        }
        let mut written = Vec::new();
        for (number, line) in lines.enumerate() {
            let corrupt = || format!("line {} of the graph is corrupt", number + 2);
            let fields: Vec<&str> = line.split('\t').collect();
            let [present, kind, updateable, path, fingerprint, edges, root, _file] = fields[..]
            else {
                return Err(corrupt());
            };
            let edges: Vec<usize> = edges
                .split(',')
                .filter(|edge| !edge.is_empty())
                .map(|edge| edge.parse().map_err(|_| corrupt()))
                .collect::<Result<_, _>>()?;
            let node = Node {
                kind: kind.chars().next().filter(|_| kind.len() == 1).ok_or_else(corrupt)?,
                updateable: updateable.contains('u'),
                public: updateable.contains('p'),
                path: path.to_owned(),
                fingerprint: u128::from_str_radix(fingerprint, 16).map_err(|_| corrupt())?,
                edges,
                root: (!root.is_empty()).then(|| root.to_owned()),
            };
            written.push((present == "1", node));
        }
        // Renumber what the build has; edges to what it left out go.
        let mut index = vec![None; written.len()];
        let mut next = 0;
        for (number, (present, _)) in written.iter().enumerate() {
            if *present {
                index[number] = Some(next);
                next += 1;
            }
        }
        let mut nodes = Vec::with_capacity(next);
        for (present, mut node) in written {
            if !present {
                continue;
            }
            let edges = node.edges.iter().map(|&edge| index.get(edge).copied().ok_or(edge));
            let edges: Result<Vec<Option<usize>>, usize> = edges.collect();
            node.edges = edges
                .map_err(|edge| format!("the graph has an edge to item {edge}, which it lacks"))?
                .into_iter()
                .flatten()
                .collect();
            nodes.push(node);
        }
        let mut by_path = HashMap::with_capacity(nodes.len());
        for (index, node) in nodes.iter().enumerate() {
            // A path twice (code under `cfg`s the parse cannot tell apart): the first stands for
            // both, and a change of either is a change.
            by_path.entry(node.path.clone()).or_insert(index);
        }
        let mut graph = Graph { nodes, by_path };
        graph.merge_duplicates();
        Ok(Some(graph))
    }

    /// A patch's graph, from the section of its file (`Ok(None)` without one).
    pub(crate) fn of_image(file: &object::read::File<'_>) -> Result<Option<Graph>, String> {
        use object::{Object, ObjectSection};
        match file.section_by_name(GRAPH_SECTION).map(|section| section.data()) {
            Some(Ok(bytes)) => Graph::parse(bytes),
            Some(Err(_)) => Err("its graph section cannot be read".to_owned()),
            None => Ok(None),
        }
    }

    /// This graph, of the version running now, with the roots of the program as it started,
    /// whose graph is `program`: its binary's items, which run whatever the version (a
    /// patch's graph has the binary of its own build, which never runs), their edges going to
    /// the items of this graph of the same path; or, if its package has no binary, every
    /// public function and method, which the program's binary in another crate may call.
    pub(crate) fn rooted(&self, program: &Graph) -> Graph {
        let mut graph = self.with_binary_of(program);
        if !program.nodes.iter().any(|node| node.path.starts_with(BINARY)) {
            for node in &mut graph.nodes {
                if node.public && node.root.is_none() {
                    node.root = Some("public, and the program's package has no binary".to_owned());
                }
            }
        }
        graph
    }

    /// This graph with `program`'s binary in place of its own.
    fn with_binary_of(&self, program: &Graph) -> Graph {
        let is_binary = |node: &Node| node.path.starts_with(BINARY);
        // This graph's items but its binary's, renumbered.
        let mut renumbered = vec![None; self.nodes.len()];
        let mut nodes = Vec::with_capacity(self.nodes.len());
        for (index, node) in self.nodes.iter().enumerate() {
            if !is_binary(node) {
                renumbered[index] = Some(nodes.len());
                nodes.push(node.clone());
            }
        }
        for node in &mut nodes {
            node.edges = node.edges.iter().filter_map(|&edge| renumbered[edge]).collect();
        }
        let mut by_path = HashMap::with_capacity(nodes.len());
        for (index, node) in nodes.iter().enumerate() {
            by_path.entry(node.path.clone()).or_insert(index);
        }
        // The program's binary's items after them.
        let binary: Vec<usize> =
            (0..program.nodes.len()).filter(|&index| is_binary(&program.nodes[index])).collect();
        let first = nodes.len();
        let placed: HashMap<usize, usize> =
            binary.iter().enumerate().map(|(at, &index)| (index, first + at)).collect();
        // An item the binary reaches that this version lacks (removed since, or renamed) is
        // still the program's code, which the binary still runs: it comes along, and so does
        // what it reaches that this version lacks.
        let mut placed = placed;
        let mut queue: VecDeque<usize> = binary.iter().copied().collect();
        let mut carried = Vec::new();
        while let Some(index) = queue.pop_front() {
            for &edge in &program.nodes[index].edges {
                let path = &program.nodes[edge].path;
                if placed.contains_key(&edge) || by_path.contains_key(path) {
                    continue;
                }
                placed.insert(edge, first + binary.len() + carried.len());
                carried.push(edge);
                queue.push_back(edge);
            }
        }
        for &index in binary.iter().chain(&carried) {
            let mut node = program.nodes[index].clone();
            node.edges = node
                .edges
                .iter()
                .filter_map(|&edge| {
                    let path = &program.nodes[edge].path;
                    placed.get(&edge).or_else(|| by_path.get(path)).copied()
                })
                .collect();
            nodes.push(node);
        }
        for (index, node) in nodes.iter().enumerate().skip(first) {
            by_path.entry(node.path.clone()).or_insert(index);
        }
        Graph { nodes, by_path }
    }

    /// Folds the fingerprints of items of one path into the first's.
    fn merge_duplicates(&mut self) {
        for index in 0..self.nodes.len() {
            let first = self.by_path[&self.nodes[index].path];
            if first != index {
                let (fingerprint, edges) =
                    (self.nodes[index].fingerprint, self.nodes[index].edges.clone());
                let first = &mut self.nodes[first];
                first.fingerprint = first.fingerprint.rotate_left(1) ^ fingerprint;
                first.edges.extend(edges);
            }
        }
    }

    fn node(&self, path: &str) -> Option<&Node> {
        self.by_path.get(path).map(|&index| &self.nodes[index])
    }

    /// Whether the graph has the updateable item `path`.
    pub(crate) fn has_updateable(&self, path: &str) -> bool {
        self.node(path).is_some_and(|node| node.updateable)
    }

    /// The items of `self` whose fingerprint differs from `running`'s, or which `running`
    /// lacks, by path.
    ///
    /// Of items of one path only the first counts, which stands for all (`merge_duplicates`);
    /// code that may outlive its call (`x`) counts only if the running version had it, changed:
    /// a new closure is new code, an old one changed is code made before the update may keep.
    fn changed_since(&self, running: &Graph) -> Vec<bool> {
        self.nodes
            .iter()
            .enumerate()
            .map(|(index, node)| {
                let old = running.node(&node.path);
                node.compared()
                    && self.by_path[&node.path] == index
                    && match node.kind {
                        'x' => old.is_some_and(|old| old.fingerprint != node.fingerprint),
                        _ => old.is_none_or(|old| old.fingerprint != node.fingerprint),
                    }
            })
            .collect()
    }

    /// For each item, the next item on a path of plain items to a changed plain item
    /// (`Some(itself)` for a changed plain item), given which items changed.
    fn toward_changes(&self, changed: &[bool]) -> Vec<Option<usize>> {
        let mut callers = vec![Vec::new(); self.nodes.len()];
        for (index, node) in self.nodes.iter().enumerate() {
            for &edge in &node.edges {
                callers[edge].push(index);
            }
        }
        let mut next = vec![None; self.nodes.len()];
        let mut queue = VecDeque::new();
        for (index, node) in self.nodes.iter().enumerate() {
            if changed[index] && !node.updateable {
                next[index] = Some(index);
                queue.push_back(index);
            }
        }
        while let Some(index) = queue.pop_front() {
            for &caller in &callers[index] {
                if next[caller].is_none() && !self.nodes[caller].updateable {
                    next[caller] = Some(index);
                    queue.push_back(caller);
                }
            }
        }
        next
    }

    /// The path from `index` along `next` to the changed item it reaches.
    fn chain(&self, mut index: usize, next: &[Option<usize>]) -> Vec<String> {
        let mut chain = vec![self.nodes[index].path.clone()];
        while let Some(step) = next[index].filter(|&step| step != index) {
            chain.push(self.nodes[step].path.clone());
            index = step;
        }
        chain
    }
}

/// What a patch's changes reach.
#[derive(Debug, Default)]
pub(crate) struct Reach {
    /// Whether any item of the crate changed.
    pub(crate) any_change: bool,
    /// Updateable items to switch whose own code reaches a changed plain item, by path.
    /// Each with the plain items from it to the changed one, the changed one last.
    pub(crate) switched: BTreeMap<String, Vec<String>>,
    /// Changed plain items that code no update switches still reaches.
    pub(crate) unreached: Vec<Unreached>,
}

/// What `patch`'s changes reach in the program running `running`.
pub(crate) fn analyse(running: &Graph, patch: &Graph) -> Reach {
    let changed = patch.changed_since(running);
    let mut reach = Reach { any_change: changed.iter().any(|&c| c), ..Reach::default() };
    // An updateable item reaching a change in either version's code: the running code calls
    // the old copy of the changed item, the patch's calls the new one.
    let running_changed: Vec<bool> = running
        .nodes
        .iter()
        .map(|node| patch.node(&node.path).is_some_and(|new| changed[patch.by_path[&new.path]]))
        .collect();
    for (graph, changed) in [(running, &running_changed), (patch, &changed)] {
        let next = graph.toward_changes(changed);
        for (index, node) in graph.nodes.iter().enumerate() {
            if !node.updateable || changed[index] || reach.switched.contains_key(&node.path) {
                continue;
            }
            let step = node.edges.iter().copied().find(|&edge| next[edge].is_some());
            if let Some(step) = step {
                let through = graph.chain(step, &next);
                reach.switched.insert(node.path.clone(), through);
            }
        }
    }
    // From each root of the running code, along plain items: a changed one reached keeps
    // running its old code.
    let mut parent: Vec<Option<usize>> = vec![None; running.nodes.len()];
    let mut root_of: Vec<Option<usize>> = vec![None; running.nodes.len()];
    let mut queue = VecDeque::new();
    for (index, node) in running.nodes.iter().enumerate() {
        if node.root.is_some() && !node.updateable {
            root_of[index] = Some(index);
            queue.push_back(index);
        }
    }
    while let Some(index) = queue.pop_front() {
        if running_changed[index] && !running.nodes[index].updateable {
            let mut chain = vec![running.nodes[index].path.clone()];
            let mut at = index;
            while let Some(up) = parent[at] {
                chain.push(running.nodes[up].path.clone());
                at = up;
            }
            chain.reverse();
            let root = root_of[index].expect("every item reached has its root");
            reach.unreached.push(Unreached {
                item: running.nodes[index].path.clone(),
                chain,
                root: running.nodes[root].root.clone().unwrap_or_default(),
            });
        }
        for &edge in &running.nodes[index].edges {
            if root_of[edge].is_none() && !running.nodes[edge].updateable {
                root_of[edge] = root_of[index];
                parent[edge] = Some(index);
                queue.push_back(edge);
            }
        }
    }
    reach.unreached.sort_by(|a, b| a.item.cmp(&b.item));
    reach
}

/// The plain state that the switched items' new code names (along plain items), which the
/// running program has too: each is the patch's own copy, so the new code would not see the
/// running value. `switched` are the paths of the updateable items whose code the update
/// switches to the patch's.
pub(crate) fn forked(
    running: &Graph,
    patch: &Graph,
    switched: &mut dyn Iterator<Item = &str>,
) -> Vec<ForkedState> {
    // One walk from all of them, each item reached marked with the first that reached it.
    let mut by: Vec<Option<usize>> = vec![None; patch.nodes.len()];
    let mut queue = VecDeque::new();
    for path in switched {
        if let Some(&start) = patch.by_path.get(path) {
            if by[start].is_none() {
                by[start] = Some(start);
                queue.push_back(start);
            }
        }
    }
    let mut forked: BTreeMap<String, String> = BTreeMap::new();
    while let Some(index) = queue.pop_front() {
        let node = &patch.nodes[index];
        let from = by[index].expect("every item queued is marked");
        if node.is_state() && running.node(&node.path).is_some_and(Node::is_state) {
            forked.entry(node.path.clone()).or_insert_with(|| patch.nodes[from].path.clone());
        }
        for &edge in &node.edges {
            if by[edge].is_none() && !patch.nodes[edge].updateable {
                by[edge] = Some(from);
                queue.push_back(edge);
            }
        }
    }
    forked.into_iter().map(|(state, by)| ForkedState { state, by }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(kind, updateable, path, fingerprint, edges, root)`.
    type Line<'a> = (&'a str, bool, &'a str, u128, &'a [usize], &'a str);

    /// A graph of `lines`, all present.
    fn graph(items: &[Line<'_>]) -> Graph {
        let mut text = String::from("dsu-graph 1\n");
        for (kind, updateable, path, fingerprint, edges, root) in items {
            let edges: Vec<String> = edges.iter().map(usize::to_string).collect();
            let u = if *updateable { "u" } else { "-" };
            text.push_str(&format!(
                "1\t{kind}\t{u}\t{path}\t{fingerprint:032x}\t{}\t{root}\tsrc/lib.rs\n",
                edges.join(",")
            ));
        }
        Graph::parse(text.as_bytes()).expect("valid").expect("walked")
    }

    /// `main -> run -> helper`, `run -> handle (updateable) -> parse`, `handle -> HITS`; the
    /// fingerprints of `helper` and `parse` as given.
    fn program(helper: u128, parse: u128) -> Graph {
        graph(&[
            ("f", false, "{binary}::main", 1, &[1], "the program's binary"),
            ("f", false, "app::run", 2, &[2, 3], ""),
            ("f", false, "app::helper", helper, &[], ""),
            ("f", true, "app::handle", 4, &[4, 5], ""),
            ("f", false, "app::parse", parse, &[], ""),
            ("S", false, "app::HITS", 6, &[], ""),
        ])
    }

    #[test]
    fn a_change_only_switched_code_reaches_switches_its_caller() {
        let reach = analyse(&program(3, 5), &program(3, 50));
        assert!(reach.unreached.is_empty());
        assert_eq!(reach.switched["app::handle"], ["app::parse"]);
    }

    #[test]
    fn a_change_the_binary_reaches_through_plain_code_is_unreached() {
        let reach = analyse(&program(3, 5), &program(30, 5));
        assert_eq!(reach.unreached.len(), 1);
        let unreached = &reach.unreached[0];
        assert_eq!(unreached.chain, ["{binary}::main", "app::run", "app::helper"]);
        assert_eq!(unreached.root, "the program's binary");
        assert!(reach.switched.is_empty());
    }

    #[test]
    fn nothing_changed_switches_nothing() {
        let reach = analyse(&program(3, 5), &program(3, 5));
        assert!(!reach.any_change && reach.switched.is_empty() && reach.unreached.is_empty());
    }

    #[test]
    fn switched_code_that_names_plain_state_forks_it() {
        let (running, patch) = (program(3, 5), program(3, 50));
        let forked = forked(&running, &patch, &mut ["app::handle"].into_iter());
        assert_eq!(forked, [ForkedState { state: "app::HITS".into(), by: "app::handle".into() }]);
        assert!(super::forked(&running, &patch, &mut std::iter::empty()).is_empty());
    }

    #[test]
    fn the_binary_that_runs_is_the_programs_whatever_the_version() {
        // Version 2 has no binary of its own; the program's calls `run`, which calls `helper`.
        let running = graph(&[
            ("f", false, "app::run", 2, &[1], ""),
            ("f", false, "app::helper", 3, &[], ""),
        ]);
        let merged = running.rooted(&program(3, 5));
        let patch = graph(&[
            ("f", false, "app::run", 2, &[1], ""),
            ("f", false, "app::helper", 30, &[], ""),
        ]);
        let reach = analyse(&merged, &patch);
        assert_eq!(reach.unreached.len(), 1);
        assert_eq!(reach.unreached[0].chain, ["{binary}::main", "app::run", "app::helper"]);
    }

    #[test]
    fn without_a_binary_public_functions_are_roots() {
        let text = "dsu-graph 1\n\
                    1\tf\tp\tapp::run\t1\t1\t\tsrc/lib.rs\n\
                    1\tf\t-\tapp::helper\t2\t\t\tsrc/lib.rs\n";
        let running = Graph::parse(text.as_bytes()).unwrap().unwrap();
        let patch = Graph::parse(text.replace("\t2\t", "\t3\t").as_bytes()).unwrap().unwrap();
        let reach = analyse(&running.rooted(&running), &patch);
        assert_eq!(reach.unreached[0].chain, ["app::run", "app::helper"]);
        assert_eq!(reach.unreached[0].root, "public, and the program's package has no binary");
        // With the program's binary, which does not call `run`, it is not a root.
        let binary = graph(&[("f", false, "{binary}::main", 1, &[], "the program's binary")]);
        let with_binary = running.rooted(&binary);
        assert!(analyse(&with_binary, &patch).unreached.is_empty());
    }

    #[test]
    fn an_item_the_binary_still_runs_after_its_removal_is_carried() {
        // v2 renamed `run` to `serve`: the binary still runs the program's `run`.
        let v2 = graph(&[
            ("f", false, "app::serve", 2, &[1], ""),
            ("f", false, "app::helper", 3, &[], ""),
        ]);
        let v3 = graph(&[
            ("f", false, "app::serve", 2, &[1], ""),
            ("f", false, "app::helper", 30, &[], ""),
        ]);
        let reach = analyse(&v2.rooted(&program(3, 5)), &v3);
        assert_eq!(reach.unreached.len(), 1, "{reach:?}");
        assert_eq!(reach.unreached[0].chain, ["{binary}::main", "app::run", "app::helper"]);
    }

    #[test]
    fn a_stored_closure_whose_code_changed_is_unreached_and_a_new_one_is_not() {
        let closure = |fingerprint| {
            graph(&[
                ("f", true, "app::install", 1, &[1], ""),
                ("x", false, "app::install::{closure#0}", fingerprint, &[], "a closure"),
            ])
        };
        let reach = analyse(&closure(7), &closure(8));
        assert_eq!(reach.unreached[0].item, "app::install::{closure#0}");
        let none = graph(&[("f", true, "app::install", 1, &[], "")]);
        assert!(analyse(&none, &closure(8)).unreached.is_empty(), "new code");
    }

    #[test]
    fn items_of_one_path_count_once() {
        let twice =
            graph(&[("c", false, "app::_", 1, &[], ""), ("c", false, "app::_", 2, &[], "")]);
        assert!(!analyse(&twice, &twice.clone()).any_change);
    }

    #[test]
    fn items_the_build_leaves_out_are_not_in_the_graph() {
        let text = "dsu-graph 1\n\
                    1\tf\t-\tapp::a\t1\t1,2\t\tsrc/lib.rs\n\
                    0\tf\t-\tapp::tests::t\t2\t\t\tsrc/lib.rs\n\
                    1\tf\t-\tapp::b\t3\t\t\tsrc/lib.rs\n";
        let graph = Graph::parse(text.as_bytes()).unwrap().unwrap();
        assert_eq!(graph.nodes.len(), 2);
        assert_eq!(graph.nodes[0].edges, [1], "the edge to the left-out item went");
        assert_eq!(graph.node("app::b").map(|n| n.fingerprint), Some(3));
    }

    #[test]
    fn corrupt_graphs_are_refused_and_unwalked_ones_are_none() {
        assert_eq!(Graph::parse(b"dsu-graph 1 none\n"), Ok(None));
        assert_eq!(Graph::parse(b""), Ok(None));
        assert!(Graph::parse(b"dsu-graph 9\n").is_err());
        assert!(Graph::parse(b"dsu-graph 1\n1\tf\t-\tapp::a\tzz\t\t\tsrc/lib.rs\n").is_err());
        assert!(Graph::parse(b"dsu-graph 1\n1\tf\t-\tapp::a\t1\t7\t\tsrc/lib.rs\n").is_err());
        assert!(Graph::parse(b"dsu-graph 1\n1\tf\n").is_err());
        assert!(Graph::parse(&[0xff, 0xfe]).is_err());
    }
}
