#[dsu::updateable]
pub fn first<'a, 'b: 'a>(left: &'a str, _right: &'b str) -> &'a str {
    left
}

fn main() {
    assert_eq!(first("a", "b"), "a");
}
