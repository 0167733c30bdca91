#[dsu::updateable]
pub static mut LIMIT: u32 = 10;

fn main() {}
