// The notes became a type of the program's own, and the global names no old type.

use std::sync::Mutex;

dsu::base!(v1 = "../base/store");

#[derive(dsu::Fingerprint)]
pub struct Note {
    pub text: String,
}

#[dsu::updateable]
static NOTES: Mutex<Vec<Note>> = Mutex::new(Vec::new());

fn main() {}
