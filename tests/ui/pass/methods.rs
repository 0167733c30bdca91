//! Inherent impl blocks: every receiver, associated functions, and items beside the methods.

#![deny(warnings)]

#[derive(dsu::Fingerprint, Debug, PartialEq)]
pub struct Counter {
    count: u64,
}

#[dsu::updateable]
impl Counter {
    pub const START: u64 = 10;

    pub fn new() -> Self {
        Counter { count: Self::START }
    }

    pub fn with(count: u64) -> Counter {
        Counter { count }
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

    pub fn boxed(self: Box<Self>) -> u64 {
        self.count * 2
    }

    pub fn explicit(self: &Self) -> u64 {
        self.count + 100
    }

    pub fn add(mut self, (a, b): (u64, u64)) -> Self {
        self.count += a + b;
        self
    }

    pub fn larger<'a>(&'a self, other: &'a Counter) -> &'a Counter {
        if other.count > self.count {
            other
        } else {
            self
        }
    }

    pub fn count_mut(&mut self) -> &mut u64 {
        &mut self.count
    }

    fn private(&self) -> bool {
        self.count > 0
    }

    pub fn calls_private(&self) -> bool {
        self.private()
    }
}

impl Default for Counter {
    fn default() -> Self {
        Counter::new()
    }
}

mod nested {
    #[derive(dsu::Fingerprint)]
    pub struct Unit;

    #[dsu::updateable]
    impl Unit {
        pub fn name() -> &'static str {
            "unit"
        }
    }
}

fn main() {
    let mut counter = Counter::new();
    assert_eq!(counter.get(), 10);
    assert_eq!(counter.bump(), 11);
    *counter.count_mut() += 1;
    assert_eq!(counter.explicit(), 112);
    assert!(counter.calls_private());
    let other = Counter::with(50);
    assert_eq!(counter.larger(&other), &other);
    assert_eq!(counter.add((1, 2)).into_count(), 15);
    assert_eq!(Box::new(Counter::with(4)).boxed(), 8);
    assert_eq!(Counter::default(), Counter::with(10));
    assert_eq!(nested::Unit::name(), "unit");
}
