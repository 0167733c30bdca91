// A mistake inside a `was` type with a comma of its own is one error: the comma inside `<..>`
// is the type's, not the start of another argument.
use std::collections::HashMap;
use std::sync::Mutex;

#[dsu::updateable(was = Mutex<HashMap<String u32, u64>>)]
static COUNTS: Mutex<HashMap<String, u64>> = Mutex::new(HashMap::new());

fn main() {
    COUNTS.with(|counts| counts.lock().unwrap().clear());
}
