#[dsu::updateable(?Send)]
pub static HITS: u64 = 0;

fn main() {}
