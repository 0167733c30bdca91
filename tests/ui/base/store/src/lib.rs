//! Release 1.0.0 of a store: the types the `dsu::base!` tests read.

use std::collections::HashMap;
use std::sync::Mutex;

pub mod kind;

use crate::kind::Kind;

/// An entry: its field is private, as fields often are.
#[derive(dsu::Fingerprint, Clone, Debug)]
pub struct Entry {
    value: String,
    pub kind: Kind,
}

#[dsu::updateable]
static STORE: Mutex<HashMap<String, Entry>> = Mutex::new(HashMap::new());

#[dsu::updateable]
static NOTES: Mutex<Vec<String>> = Mutex::new(Vec::new());

#[dsu::updateable]
pub fn put(key: &str, value: &str) {
    let entry = Entry { value: value.to_owned(), kind: Kind::Text };
    STORE.with(|store| store.lock().unwrap().insert(key.to_owned(), entry));
}
