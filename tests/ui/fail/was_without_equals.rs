use std::sync::Mutex;

#[dsu::updateable(was Vec<u32>)]
static NAMES: Mutex<Vec<u64>> = Mutex::new(Vec::new());

fn main() {
    NAMES.with(|names| names.lock().unwrap().push(1));
}
