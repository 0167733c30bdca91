#[dsu::updateable(skip)]
pub fn greet(name: &str) -> String {
    format!("hello, {name}")
}

fn main() {
    assert_eq!(greet("you"), "hello, you");
}
