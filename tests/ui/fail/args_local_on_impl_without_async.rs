pub struct Counter(u32);

#[dsu::updateable(?Send)]
impl Counter {
    pub fn get(&self) -> u32 {
        self.0
    }
}

fn main() {}
