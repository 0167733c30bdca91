use std::sync::Mutex;

#[dsu::updateable(reversible)]
static NAMES: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn main() {
    NAMES.with(|names| names.lock().unwrap().push("ann".to_owned()));
}
