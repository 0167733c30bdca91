#[dsu::updateable]
pub union Bits {
    pub int: u32,
    pub float: f32,
}

fn main() {
    let bits = Bits { int: 0 };
    assert_eq!(unsafe { bits.int }, 0);
}
