#[derive(dsu::Fingerprint)]
pub struct Counter {
    count: u64,
}

#[dsu::updateable]
impl Counter {
    pub fn get(&self) -> u64 {
        self.count
    }

    pub const fn zero() -> Counter {
        Counter { count: 0 }
    }
}

fn main() {
    assert_eq!(Counter::zero().get(), 0);
}
