#[dsu::updateable]
pub extern "C" fn callback(value: i32) -> i32 {
    value * 2
}

fn main() {
    assert_eq!(callback(2), 4);
}
