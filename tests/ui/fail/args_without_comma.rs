#[dsu::updateable(crate = ::dsu skip)]
pub fn answer() -> u32 {
    42
}

fn main() {
    assert_eq!(answer(), 42);
}
