#[dsu::updateable]
pub static LIMIT: u32 = 10;

fn main() {
    assert_eq!(LIMIT, 10);
}
