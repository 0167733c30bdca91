//! How a signature or a global's type is written, compared beside its fingerprint: two texts
//! are the same spelling when they differ only in what cannot change a type, its lifetimes and
//! the paths that lead to its names (`&'a str` and `&str`, `std::collections::HashMap<K, V>`
//! and `HashMap<K, V>`). Any other difference under an equal fingerprint (an alias spelled out,
//! a name another) is refused: it means a descriptor that does not say what its source says.

/// Whether `running` and `patch` write the same type or signature.
pub(crate) fn same(running: &str, patch: &str) -> bool {
    running == patch || comparable(running) == comparable(patch)
}

/// `text` without lifetimes and without the path before each name.
fn comparable(text: &str) -> String {
    let mut words = Vec::new();
    let mut rest = text;
    // Split into names (identifiers, with a lifetime's quote), and everything else char by
    // char, spaces dropped.
    while let Some(c) = rest.chars().next() {
        if c == '\'' || c == '_' || c.is_alphanumeric() {
            let end = rest[c.len_utf8()..]
                .find(|c: char| !(c == '_' || c.is_alphanumeric()))
                .map_or(rest.len(), |end| end + c.len_utf8());
            words.push(&rest[..end]);
            rest = &rest[end..];
        } else if let Some(after) = rest.strip_prefix("::") {
            words.push("::");
            rest = after;
        } else if let Some(after) = rest.strip_prefix("->") {
            words.push("->");
            rest = after;
        } else {
            if !c.is_whitespace() {
                words.push(&rest[..c.len_utf8()]);
            }
            rest = &rest[c.len_utf8()..];
        }
    }
    let is_name = |word: &str| word.starts_with(|c: char| c == '_' || c.is_alphanumeric());
    // Lifetimes go, then the separators they leave (`<, `, `, >`, `+ >`, `<>`).
    words.retain(|word| !word.starts_with('\''));
    let mut out: Vec<&str> = Vec::with_capacity(words.len());
    for word in words.iter().copied() {
        match (out.last().copied(), word) {
            (Some("<" | "," | "+" | "dyn" | "impl"), "," | "+") => continue,
            (Some("," | "+"), ">" | ")") => {
                out.pop();
            }
            (Some("<"), ">") => {
                out.pop();
                continue;
            }
            _ => {}
        }
        out.push(word);
    }
    // The path before each name (`std::collections::`), and a leading `::`.
    let words = out;
    let mut out: Vec<&str> = Vec::with_capacity(words.len());
    let mut index = 0;
    while index < words.len() {
        let word = words[index];
        let next = words.get(index + 1).copied();
        if is_name(word) && next == Some("::") && words.get(index + 2).is_some_and(|w| is_name(w)) {
            index += 2;
            continue;
        }
        if word == "::" && out.last().is_none_or(|last| !is_name(last) && *last != ">") {
            index += 1;
            continue;
        }
        out.push(word);
        index += 1;
    }
    // Spaces between two names (`dyn Trait`, `mut T`), none elsewhere.
    let mut text = String::with_capacity(text.len());
    let mut last_was_name = false;
    for word in out {
        let is_name = word.starts_with(|c: char| c == '_' || c.is_alphanumeric());
        if is_name && last_was_name {
            text.push(' ');
        }
        text.push_str(word);
        last_was_name = is_name;
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_and_paths_do_not_change_a_spelling() {
        assert!(same("fn(&'a str) -> &'a str", "fn(&str) -> &str"));
        assert!(same("fn(&'static str) -> u64", "fn(&str) -> u64"));
        assert!(same("fn(&'a mut Vec<u8>) -> ()", "fn(&mut Vec<u8>) -> ()"));
        assert!(same("fn(Cow<'a, str>) -> Ref<'a>", "fn(Cow<str>) -> Ref"));
        assert!(same("fn(Pair<u8, 'a>) -> ()", "fn(Pair<u8>) -> ()"));
        assert!(same(
            "fn(&std::collections::HashMap<String, u64>) -> ::std::vec::Vec<u8>",
            "fn(&HashMap<String, u64>) -> Vec<u8>"
        ));
        assert!(same("Mutex<crate::Store>", "std::sync::Mutex<Store>"));
        assert!(same("fn(Box<dyn Fn(u8) + 'a>) -> ()", "fn(Box<dyn Fn(u8)>) -> ()"));
        assert!(same("fn(Box<dyn 'a + Send>) -> ()", "fn(Box<dyn Send>) -> ()"));
        assert!(same("fn(<T as Tr>::Out) -> ()", "fn(<T as a::Tr>::Out) -> ()"));
    }

    #[test]
    fn anything_else_does() {
        assert!(!same("fn(&str) -> u64", "fn(&str) -> u32"));
        assert!(!same("fn(&mut str) -> u64", "fn(&str) -> u64"));
        assert!(!same("Mutex<HashMap<K, V, Hasher>>", "Mutex<HashMap<K, V, RandomState>>"));
        assert!(!same("fn(Notes) -> ()", "fn(Slab<Note>) -> ()"));
        assert!(!same("fn(a::B) -> ()", "fn(a::C) -> ()"));
        assert!(!same("fn(dyn A) -> ()", "fn(dynA) -> ()"));
    }
}
