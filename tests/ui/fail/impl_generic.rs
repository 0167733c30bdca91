pub struct Wrapper<T>(T);

#[dsu::updateable]
impl<T: Copy> Wrapper<T> {
    pub fn get(&self) -> T {
        self.0
    }
}

fn main() {
    assert_eq!(Wrapper(3).get(), 3);
}
