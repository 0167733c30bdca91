#[dsu::updateable(was = u32)]
pub fn limit() -> u64 {
    10
}

fn main() {
    assert_eq!(limit(), 10);
}
