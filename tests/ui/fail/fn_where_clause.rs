#[dsu::updateable]
pub fn count() -> usize
where
    u32: Copy,
{
    1
}

fn main() {
    assert_eq!(count(), 1);
}
