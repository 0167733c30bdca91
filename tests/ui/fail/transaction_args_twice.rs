#[dsu::transaction(crate = ::dsu, crate = ::dsu)]
fn handle() -> u32 {
    42
}

fn main() {
    assert_eq!(handle(), 42);
}
