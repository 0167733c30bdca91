//! `#[dsu::updateable(skip)]` keeps a method of an updateable impl block plain: one updateable
//! method in a trait impl, plain methods that could not be updateable (generic, `const`), and
//! the marker written through a `use`.

#![deny(warnings)]

use dsu::updateable;

pub trait Store {
    fn get(&self, key: &str) -> Option<u64>;

    fn len(&self) -> usize;

    fn is_empty(&self) -> bool;
}

#[derive(dsu::Fingerprint)]
pub struct Table {
    pub rows: Vec<(String, u64)>,
}

#[dsu::updateable]
impl Store for Table {
    fn get(&self, key: &str) -> Option<u64> {
        self.rows.iter().find(|(name, _)| name == key).map(|&(_, value)| value)
    }

    #[dsu::updateable(skip)]
    fn len(&self) -> usize {
        self.rows.len()
    }

    #[updateable(skip)]
    fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

#[updateable]
impl Table {
    pub fn total(&self) -> u64 {
        self.rows.iter().map(|&(_, value)| value).sum()
    }

    #[dsu::updateable(skip)]
    pub fn find<K: AsRef<str>>(&self, key: K) -> Option<u64> {
        self.get(key.as_ref())
    }

    #[dsu::updateable(skip, crate = ::dsu)]
    pub const fn limit() -> usize {
        64
    }
}

fn main() {
    let table = Table { rows: vec![("a".to_owned(), 1), ("b".to_owned(), 2)] };
    assert_eq!(table.get("b"), Some(2));
    assert_eq!(table.find("a"), Some(1));
    assert_eq!((table.len(), table.is_empty(), table.total(), Table::limit()), (2, false, 3, 64));
    let status = dsu::status();
    let paths: Vec<&str> = status.items.iter().map(|item| item.item.path.as_str()).collect();
    assert!(paths.iter().any(|path| path.ends_with("as Store>::get")), "{paths:?}");
    assert!(paths.iter().any(|path| path.ends_with("Table::total")), "{paths:?}");
    assert!(!paths.iter().any(|path| path.ends_with("len") || path.ends_with("find")), "{paths:?}");
}
