pub struct Counter {
    count: u64,
}

#[dsu::updateable(was = u32)]
impl Counter {
    pub fn get(&self) -> u64 {
        self.count
    }
}

fn main() {
    assert_eq!(Counter { count: 1 }.get(), 1);
}
