mod v1 {
    #[derive(dsu::Fingerprint)]
    pub struct Entry {
        pub value: String,
    }
}

#[derive(dsu::Fingerprint)]
pub struct Owner {
    pub name: String,
}

#[dsu::updateable(was = v1::Entry)]
#[derive(dsu::Fingerprint)]
pub struct Entry {
    pub value: String,
    pub owner: Owner,
}

fn main() {}
