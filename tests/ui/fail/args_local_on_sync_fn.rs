#[dsu::updateable(?Send)]
pub fn count(start: u32) -> u32 {
    start + 1
}

fn main() {}
