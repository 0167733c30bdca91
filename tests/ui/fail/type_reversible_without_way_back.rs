mod v1 {
    #[derive(dsu::Fingerprint)]
    pub struct Entry {
        pub value: String,
    }
}

#[dsu::updateable(was = v1::Entry, reversible)]
#[derive(dsu::Fingerprint)]
pub struct Entry {
    pub value: String,
    pub hits: u64,
}

fn main() {}
