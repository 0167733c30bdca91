//! `dsu::base!` writes the running release's types into `v1`, from its sources: a type that
//! changed derives its conversion from the copy, and one written alike converts with no `was`.

use std::collections::HashMap;
use std::sync::Mutex;

use dsu::Transform;

dsu::base!(v1 = "../base/store");

pub mod kind {
    /// Written as the running release wrote it.
    #[derive(dsu::Fingerprint, Clone, Debug, PartialEq)]
    pub enum Kind {
        Text,
        Number { digits: u32 },
    }
}

use kind::Kind;

/// A field added, with its default.
#[dsu::updateable(was = v1::Entry)]
pub struct Entry {
    pub value: String,
    pub kind: Kind,
    pub hits: u64,
}

#[dsu::updateable(was = Mutex<HashMap<String, v1::Entry>>)]
static STORE: Mutex<HashMap<String, Entry>> = Mutex::new(HashMap::new());

/// Another type: the transformer reads the copy's fields, public in the copy.
#[derive(dsu::Fingerprint)]
pub struct Note {
    pub text: String,
}

#[dsu::transform]
fn note(old: &String) -> Note {
    Note { text: old.clone() }
}

#[dsu::updateable(was = Mutex<Vec<String>>)]
static NOTES: Mutex<Vec<Note>> = Mutex::new(Vec::new());

fn main() {
    use dsu::fingerprint::of;
    // The copy is the running release's type: the same shape, so the same fingerprint.
    assert_eq!(of::<v1::kind::Kind>(), of::<Kind>());
    assert_ne!(of::<v1::Entry>(), of::<Entry>());
    let old = Mutex::new(HashMap::from([(
        "a".to_owned(),
        v1::Entry { value: "x".to_owned(), kind: v1::kind::Kind::Number { digits: 3 } },
    )]));
    let new = <Mutex<HashMap<String, Entry>>>::transform(&old);
    let new = new.lock().unwrap();
    assert_eq!(new["a"].value, "x");
    assert_eq!(new["a"].kind, Kind::Number { digits: 3 });
    assert_eq!(new["a"].hits, 0);
    assert!(STORE.with(|store| store.lock().unwrap().is_empty()));
    assert!(NOTES.with(|notes| notes.lock().unwrap().is_empty()));
}
