pub struct Name<'a>(&'a str);

#[dsu::updateable]
impl<'a> Name<'a> {
    pub fn get(&self) -> &'a str {
        self.0
    }
}

fn main() {
    assert_eq!(Name("x").get(), "x");
}
