// The global names its old type, but `Kind`, which the derived conversion of `Entry` needs,
// changed and has no conversion: the error shows the two definitions of `Kind`.

use std::collections::HashMap;
use std::sync::Mutex;

dsu::base!(v1 = "../base/store");

pub mod kind {
    #[derive(dsu::Fingerprint, Clone, Debug, PartialEq)]
    pub enum Kind {
        Text,
        Number { digits: u64 },
    }
}

use kind::Kind;

#[dsu::updateable(was = v1::Entry)]
pub struct Entry {
    pub value: String,
    pub kind: Kind,
}

#[dsu::updateable(was = Mutex<HashMap<String, v1::Entry>>)]
static STORE: Mutex<HashMap<String, Entry>> = Mutex::new(HashMap::new());

fn main() {}
