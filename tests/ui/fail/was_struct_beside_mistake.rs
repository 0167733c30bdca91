// A mistake beside `was` on a struct is one error: the struct keeps the fingerprint it would
// have had, so the function that takes it adds no error of its own.
mod v1 {
    #[derive(dsu::Fingerprint)]
    pub struct Entry {
        pub value: String,
    }
}

#[dsu::updateable(was = v1::Entry, bogus)]
pub struct Entry {
    pub value: String,
    pub hits: u64,
}

#[dsu::updateable]
pub fn hits(entry: &Entry) -> u64 {
    entry.hits
}

fn main() {
    let entry = Entry { value: "x".to_owned(), hits: 1 };
    assert_eq!((entry.value.len() as u64) + hits(&entry), 2);
}
