pub struct Counter {
    count: u64,
}

#[dsu::updateable]
impl Counter {
    pub fn new() -> Self {
        Counter { count: 0 }
    }

    pub fn get(&self) -> u64 {
        self.count
    }

    pub fn bump(&mut self) -> u64 {
        self.count += 1;
        self.count
    }

    pub fn into_count(self) -> u64 {
        self.count
    }
}

fn main() {
    let mut counter = Counter::new();
    assert_eq!(counter.bump(), 1);
    assert_eq!(counter.get(), 1);
    assert_eq!(counter.into_count(), 1);
}
