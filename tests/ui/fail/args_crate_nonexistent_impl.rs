#[derive(dsu::Fingerprint)]
pub struct Counter {
    count: u64,
}

#[dsu::updateable(crate = nonexistent)]
impl Counter {
    pub fn get(&self) -> u64 {
        self.count
    }

    pub fn bump(&mut self) -> u64 {
        self.count += 1;
        self.count
    }
}

fn main() {
    let mut counter = Counter { count: 0 };
    assert_eq!(counter.bump(), 1);
    assert_eq!(counter.get(), 1);
}
