#[dsu::updateable]
pub trait Greet {
    fn greet(&self) -> String;
}

struct English;

impl Greet for English {
    fn greet(&self) -> String {
        "hello".to_owned()
    }
}

fn main() {
    assert_eq!(English.greet(), "hello");
}
