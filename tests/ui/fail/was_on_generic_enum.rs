mod v1 {
    #[derive(dsu::Fingerprint)]
    pub enum Maybe<T> {
        Nothing,
        Just(T),
    }
}

#[dsu::updateable(was = v1::Maybe<u32>)]
pub enum Maybe<T> {
    Nothing,
    Just(T),
    Unknown,
}

fn main() {
    let _ = Maybe::Just(1);
}
