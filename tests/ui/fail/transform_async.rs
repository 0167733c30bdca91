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
async fn entry(old: &v1::Entry) -> Entry {
    Entry { value: old.value.clone(), hits: 0 }
}

fn main() {
    let _ = entry;
}
