use std::sync::Mutex;
use std::thread::ThreadId;

// Each copy of the standard library counts thread ids of its own.
#[dsu::updateable]
static OWNERS: Mutex<Vec<ThreadId>> = Mutex::new(Vec::new());

fn main() {
    OWNERS.with(|owners| owners.lock().unwrap().push(std::thread::current().id()));
}
