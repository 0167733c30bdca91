extern "C" {
    #[dsu::updateable]
    fn abs(value: i32) -> i32;
}

fn main() {
    assert_eq!(unsafe { abs(-3) }, 3);
}
