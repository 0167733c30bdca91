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
}

#[test]
fn every_way_of_naming_a_module_is_read() {
    let source = r#"
        use crate::{a, b::{C, D}};
        use crate::{
            e::{self, F},
            g,
        };
        let x = crate::h::f(); // crate::commented
        let url = "http://example.org"; crate::i::f();
        /* crate::in_a_block_comment */ let c = '"'; crate::j::f(); let s = "crate::in_a_string";
        use super::k;
        let y = crate::
            l::f();
        fn f<'a>(x: &'a str) -> &'a str { crate::m::g(x) }
        #[cfg(test)]
        mod tests {
            use crate::in_the_tests;
        }
        use crate::after_the_tests;
    "#;
    let (named, unreadable) = roots_named(source);
    let expected = ["a", "b", "e", "g", "h", "i", "j", "k", "l", "m", "after_the_tests"];
    assert_eq!(named, expected.map(String::from).into_iter().collect());
    assert!(unreadable.is_empty(), "{unreadable:?}");
    let (_, unreadable) = roots_named("use crate as runtime;\nuse crate::{self as rt};");
    assert_eq!(unreadable.len(), 2, "{unreadable:?}");
}

/// Each module of `src/` and the modules its code (not its tests) names, directly or through
/// a name `lib.rs` re-exports.
fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = BTreeMap::new();
    for entry in fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let Some(module) = path.file_stem().and_then(|s| s.to_str()) else { continue };
        if path.extension().is_some_and(|e| e == "rs") {
            sources.insert(module.to_owned(), fs::read_to_string(&path).unwrap());
        }
    }
    let lib = sources.remove("lib").expect("src/lib.rs");
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    let exported = reexports(&lib, &modules);
    let mut edges = BTreeMap::new();
    let mut unknown = Vec::new();
    for (module, source) in &sources {
        let (named, unreadable) = roots_named(source);
        assert!(
            unreadable.is_empty(),
            "{module}.rs names the crate in a way this test cannot read: {unreadable:?}"
        );
        let mut to = BTreeSet::new();
        for name in named {
            // A module and a re-exported function may share a name (`update`): `crate::update`
            // then names both, and the module is what a path through it reaches.
            match exported.get(&name) {
                _ if modules.contains(&name) => {
                    to.insert(name);
                }
                Some(owner) => {
                    to.insert(owner.clone());
                }
                // The hidden module of generated code, written out in `lib.rs`.
                None if name == "__private" => {}
                None => unknown.push(format!("{module}.rs: crate::{name}")),
            }
        }
        to.remove(module);
        edges.insert(module.clone(), to);
    }
    assert!(
        unknown.is_empty(),
        "names that are neither a module nor re-exported by lib.rs: {unknown:?}"
    );
    edges
}

/// The names `lib.rs` re-exports at the crate root (`pub use module::{A, B};`), each with the
/// module it comes from.
fn reexports(lib: &str, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut exported = BTreeMap::new();
    for statement in code_of(lib).split(';') {
        let Some(path) = statement.trim().strip_prefix("pub use ") else { continue };
        let Some((module, names)) = path.split_once("::") else { continue };
        if !modules.contains(module.trim()) {
            continue;
        }
        for name in
            names.trim_matches(|c: char| c == '{' || c == '}' || c.is_whitespace()).split(',')
        {
            let name = name.trim();
            if !name.is_empty() {
                exported.insert(name.to_owned(), module.trim().to_owned());
            }
        }
    }
    exported
}

/// The first segment of every path from the crate root in `source`: `crate::first` and, in a
/// top-level module, `super::first`, outside comments, literals and the test module; and the
/// places that alias the crate, which hide what they name.
fn roots_named(source: &str) -> (BTreeSet<String>, Vec<String>) {
    let code = code_of(source);
    let mut named = BTreeSet::new();
    let mut unreadable = Vec::new();
    let words: Vec<&str> = tokens(&code);
    for (at, &word) in words.iter().enumerate() {
        if word != "crate" && word != "super" {
            continue;
        }
        if at > 0 && words[at - 1] == "$" {
            continue; // `$crate` in a macro: the user's path to the facade
        }
        if words.get(at + 1) == Some(&"as") {
            unreadable.push(format!("{word} as {}", words.get(at + 2).unwrap_or(&"")));
            continue;
        }
        if words.get(at + 1) != Some(&"::") {
            continue; // `pub(crate)`
        }
        match words.get(at + 2) {
            Some(&"{") => {
                // A group: the first word after `{` and after each `,` at its own depth.
                let mut depth = 0;
                let mut expect = true;
                for (offset, &token) in words[at + 3..].iter().enumerate() {
                    match token {
                        "{" => depth += 1,
                        "}" if depth == 0 => break,
                        "}" => depth -= 1,
                        "," if depth == 0 => expect = true,
                        "self" if depth == 0 && words.get(at + 4 + offset) == Some(&"as") => {
                            unreadable.push("crate::{self as ..}".to_owned());
                            expect = false;
                        }
                        word if expect && depth == 0 => {
                            named.insert(word.to_owned());
                            expect = false;
                        }
                        _ => {}
                    }
                }
            }
            Some(name) => {
                named.insert((*name).to_owned());
            }
            None => {}
        }
    }
    (named, unreadable)
}

/// Words, `::`, and single punctuation characters of `code`.
fn tokens(code: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut rest = code;
    while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
        rest = &rest[start..];
        let length = if rest.starts_with("::") {
            2
        } else if rest.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
            rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len())
        } else {
            rest.chars().next().unwrap().len_utf8()
        };
        tokens.push(&rest[..length]);
        rest = &rest[length..];
    }
    tokens
}

/// `source` without its comments, string and character literals, and test modules (a
/// `#[cfg(test)]` module named `tests`, wherever it is).
fn code_of(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut code = String::with_capacity(source.len());
    let mut at = 0;
    while at < chars.len() {
        let next = chars.get(at + 1).copied();
        match chars[at] {
            '/' if next == Some('/') => {
                while at < chars.len() && chars[at] != '\n' {
                    at += 1;
                }
            }
            '/' if next == Some('*') => {
                let mut depth = 0;
                while at < chars.len() {
                    if chars[at] == '/' && chars.get(at + 1) == Some(&'*') {
                        depth += 1;
                        at += 2;
                    } else if chars[at] == '*' && chars.get(at + 1) == Some(&'/') {
                        depth -= 1;
                        at += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        at += 1;
                    }
                }
                code.push(' ');
            }
            'r' if next == Some('#') || (next == Some('"') && !ident_before(&chars, at)) => {
                let hashes = chars[at + 1..].iter().take_while(|&&c| c == '#').count();
                let close: String =
                    std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
                let body = at + 2 + hashes;
                let text: String = chars[body..].iter().collect();
                at = body
                    + text
                        .find(&close)
                        .map_or(text.len(), |end| text[..end].chars().count() + close.len());
                code.push_str(" \"\" ");
            }
            '"' => {
                at += 1;
                while at < chars.len() && chars[at] != '"' {
                    at += if chars[at] == '\\' { 2 } else { 1 };
                }
                at += 1;
                code.push_str(" \"\" ");
            }
            // A character literal, not a lifetime: `'x'` or `'\n'`.
            '\'' if next == Some('\\') || chars.get(at + 2) == Some(&'\'') => {
                at += 1;
                while at < chars.len() && chars[at] != '\'' {
                    at += if chars[at] == '\\' { 2 } else { 1 };
                }
                at += 1;
                code.push_str(" ' ");
            }
            c => {
                code.push(c);
                at += 1;
            }
        }
    }
    strip_test_modules(&code)
}

fn ident_before(chars: &[char], at: usize) -> bool {
    at > 0 && (chars[at - 1].is_alphanumeric() || chars[at - 1] == '_')
}

fn strip_test_modules(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(start) = rest.find("#[cfg(test)]") {
        let after = rest[start + "#[cfg(test)]".len()..].trim_start();
        let after = after.strip_prefix("pub(crate)").map_or(after, str::trim_start);
        let Some(body) = after.strip_prefix("mod tests").map(str::trim_start) else {
            out.push_str(&rest[..start + 1]);
            rest = &rest[start + 1..];
            continue;
        };
        out.push_str(&rest[..start]);
        let mut depth = 0;
        let end = body
            .char_indices()
            .find(|&(_, c)| {
                depth += (c == '{') as i32 - (c == '}') as i32;
                c == '}' && depth == 0
            })
            .map_or(body.len(), |(end, _)| end + 1);
        rest = &body[end..];
    }
    out.push_str(rest);
    out
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
