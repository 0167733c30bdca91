//! The modules of `dsu-rt` form layers: no module reaches, through the `crate::` paths of its
//! code (tests aside), a module that reaches it back. `docs/design.md` maps the layers; a
//! change that makes a cycle fails here and says which modules close it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Cycles that stay, each named and justified in `docs/design.md`. None today.
const ALLOWED_CYCLES: &[&[&str]] = &[];

#[test]
fn the_runtime_modules_import_each_other_without_a_cycle() {
    let edges = edges();
    assert!(edges.contains_key("update") && edges.contains_key("transaction"), "{edges:?}");
    let mut cycles: Vec<Vec<String>> = strongly_connected(&edges)
        .into_iter()
        .filter(|component| {
            component.len() > 1 || edges[&component[0]].contains(component[0].as_str())
        })
        .collect();
    cycles.retain(|cycle| {
        !ALLOWED_CYCLES.iter().any(|allowed| {
            let allowed: BTreeSet<&str> = allowed.iter().copied().collect();
            allowed == cycle.iter().map(String::as_str).collect()
        })
    });
    let described: Vec<String> = cycles
        .iter()
        .map(|cycle| {
            let members: BTreeSet<&str> = cycle.iter().map(String::as_str).collect();
            let inner: Vec<String> = cycle
                .iter()
                .flat_map(|from| {
                    edges[from]
                        .iter()
                        .filter(|to| members.contains(to.as_str()))
                        .map(move |to| format!("{from} -> {to}"))
                })
                .collect();
            format!("{{{}}}: {}", cycle.join(", "), inner.join(", "))
        })
        .collect();
    assert!(
        described.is_empty(),
        "modules of dsu-rt import each other in a circle; move what the lower one needs down \
         (or name the cycle in ALLOWED_CYCLES and justify it in docs/design.md):\n{}",
        described.join("\n")
    );
}

#[test]
fn a_cycle_is_found() {
    let edges: BTreeMap<String, BTreeSet<String>> =
        [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")].into_iter().fold(
            BTreeMap::new(),
            |mut edges, (from, to)| {
                edges.entry(from.to_owned()).or_default().insert(to.to_owned());
                edges.entry(to.to_owned()).or_default();
                edges
            },
        );
    let components = strongly_connected(&edges);
    assert!(components.contains(&vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]));
    assert!(components.contains(&vec!["d".to_owned()]));
    let parsed = modules_named(
        "use crate::{a, b::{C, D}};\nlet x = crate::c::f();\n\
        use super::d;\n#[cfg(test)]\nmod tests {\n    use crate::e;\n}\n",
    );
    assert_eq!(parsed, ["a", "b", "c", "d"].map(String::from).into_iter().collect());
}

/// Each module of `src/` and the modules its code (not its tests) names.
fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut edges = BTreeMap::new();
    for entry in fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let Some(module) = path.file_stem().and_then(|s| s.to_str()) else { continue };
        if module == "lib" || path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let mut named = modules_named(&fs::read_to_string(&path).unwrap());
        named.remove(module);
        edges.insert(module.to_owned(), named);
    }
    let modules: BTreeSet<String> = edges.keys().cloned().collect();
    for named in edges.values_mut() {
        named.retain(|module| modules.contains(module));
    }
    edges
}

/// The top-level modules that `source` names as `crate::module` or `super::module` (in a
/// top-level module, `super` is the crate), up to its test module, at the end of the file.
fn modules_named(source: &str) -> BTreeSet<String> {
    let code = source.split("#[cfg(test)]\nmod tests").next().unwrap();
    let code = code.split("#[cfg(test)]\npub(crate) mod tests").next().unwrap();
    let code: String =
        code.lines().map(|line| line.split("//").next().unwrap()).collect::<Vec<_>>().join("\n");
    let mut named = BTreeSet::new();
    for prefix in ["crate::", "super::"] {
        for (at, _) in code.match_indices(prefix) {
            if code[..at].ends_with('$') {
                continue; // `$crate::` in a macro: the user's path to the facade
            }
            let rest = &code[at + prefix.len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 0;
                let end = group
                    .char_indices()
                    .find(|&(_, c)| {
                        depth += (c == '{') as i32 - (c == '}') as i32;
                        depth < 0
                    })
                    .map_or(group.len(), |(end, _)| end);
                let mut depth = 0;
                let mut start = true;
                let mut word = String::new();
                for c in group[..end].chars() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            if !word.is_empty() {
                                named.insert(std::mem::take(&mut word));
                            }
                            start = true;
                        }
                        c if start && (c.is_alphanumeric() || c == '_') => word.push(c),
                        _ if start && !word.is_empty() => {
                            named.insert(std::mem::take(&mut word));
                            start = false;
                        }
                        _ => {}
                    }
                }
                if !word.is_empty() {
                    named.insert(word);
                }
            } else {
                let word: String =
                    rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                named.insert(word);
            }
        }
    }
    named.remove("self");
    named
}

/// Tarjan's strongly connected components, each sorted.
fn strongly_connected(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        components: Vec<Vec<String>>,
    }
    fn visit<'a>(state: &mut State<'a>, node: &'a str) {
        let index = state.index.len();
        state.index.insert(node, index);
        state.low.insert(node, index);
        state.stack.push(node);
        state.on_stack.insert(node);
        for next in &state.edges[node] {
            let next = next.as_str();
            if !state.index.contains_key(next) {
                visit(state, next);
                let low = state.low[node].min(state.low[next]);
                state.low.insert(node, low);
            } else if state.on_stack.contains(next) {
                let low = state.low[node].min(state.index[next]);
                state.low.insert(node, low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            loop {
                let member = state.stack.pop().unwrap();
                state.on_stack.remove(member);
                component.push(member.to_owned());
                if member == node {
                    break;
                }
            }
            component.sort();
            state.components.push(component);
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for node in edges.keys() {
        if !state.index.contains_key(node.as_str()) {
            visit(&mut state, node);
        }
    }
    state.components
}
