// The entry gained a field, but the global that holds entries names no old type: the error
// shows the two definitions.

use std::collections::HashMap;
use std::sync::Mutex;

dsu::base!(v1 = "../base/store");

pub mod kind {
    #[derive(dsu::Fingerprint, Clone, Debug, PartialEq)]
    pub enum Kind {
        Text,
        Number { digits: u32 },
    }
}

use kind::Kind;

#[dsu::updateable(was = v1::Entry)]
pub struct Entry {
    pub value: String,
    pub kind: Kind,
    pub hits: u64,
}

#[dsu::updateable]
static STORE: Mutex<HashMap<String, Entry>> = Mutex::new(HashMap::new());

#[dsu::updateable]
static NOTES: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn main() {}
