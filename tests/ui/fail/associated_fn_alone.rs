pub struct Counter {
    count: u64,
}

impl Counter {
    #[dsu::updateable]
    pub fn new() -> Self {
        Counter { count: 0 }
    }
}

fn main() {
    assert_eq!(Counter::new().count, 0);
}
