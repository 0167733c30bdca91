#[dsu::transaction(crate = nonexistent)]
fn quote(item: u32) -> u32 {
    item * 10
}

fn main() {
    assert_eq!(quote(3), 30);
}
