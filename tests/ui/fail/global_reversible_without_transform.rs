use std::sync::Mutex;

mod v1 {
    #[derive(dsu::Fingerprint)]
    pub struct Entry {
        pub value: String,
    }
}

#[derive(dsu::Fingerprint)]
pub struct Entry {
    pub value: String,
    pub hits: u64,
}

#[dsu::transform]
fn entry(old: &v1::Entry) -> Entry {
    Entry { value: old.value.clone(), hits: 0 }
}

#[dsu::updateable(was = Mutex<Vec<v1::Entry>>, reversible)]
static ENTRIES: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

fn main() {}
