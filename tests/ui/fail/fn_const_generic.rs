#[dsu::updateable]
pub fn zeros<const N: usize>() -> [u8; N] {
    [0; N]
}

fn main() {
    assert_eq!(zeros::<4>(), [0; 4]);
}
