mod v1 {
    #[derive(dsu::Fingerprint)]
    pub struct Entry {
        pub value: String,
    }
}

#[dsu::updateable(was = v1::Entry)]
#[derive(dsu::Fingerprint)]
pub struct Entry {
    pub value: u64,
}

fn main() {}
