#[dsu::updateable]
pub fn total(items: impl Iterator<Item = u32>) -> u32 {
    items.sum()
}

fn main() {
    assert_eq!(total([1, 2].into_iter()), 3);
}
