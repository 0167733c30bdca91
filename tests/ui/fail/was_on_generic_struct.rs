mod v1 {
    #[derive(dsu::Fingerprint)]
    pub struct Pair<T> {
        pub left: T,
    }
}

#[dsu::updateable(was = v1::Pair<u32>)]
pub struct Pair<T> {
    pub left: T,
    pub right: T,
}

fn main() {
    let _ = Pair { left: 1, right: 2 };
}
