pub struct Counter {
    count: u64,
}

#[dsu::updateable]
impl Counter {
    #[dsu::updateable]
    pub fn bump(&mut self) -> u64 {
        self.count += 1;
        self.count
    }

    #[dsu::updateable(skip)]
    pub fn get(&self) -> u64 {
        self.count
    }
}

fn main() {
    let mut counter = Counter { count: 0 };
    assert_eq!(counter.bump(), 1);
    assert_eq!(counter.get(), 1);
}
