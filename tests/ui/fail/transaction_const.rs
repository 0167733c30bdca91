#[dsu::transaction]
const fn limit() -> u32 {
    64
}

fn main() {
    assert_eq!(limit(), 64);
}
