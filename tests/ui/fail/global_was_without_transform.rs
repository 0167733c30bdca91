use std::sync::Mutex;

#[dsu::updateable(was = Mutex<Vec<u32>>)]
static NAMES: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn main() {}
