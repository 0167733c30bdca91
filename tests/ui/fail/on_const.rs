#[dsu::updateable]
pub const LIMIT: u32 = 10;

fn main() {
    assert_eq!(LIMIT, 10);
}
