#[dsu::updateable]
pub type Id = u32;

fn main() {
    let id: Id = 1;
    assert_eq!(id, 1);
}
