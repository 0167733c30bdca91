pub struct Point {
    pub x: i32,
    pub y: i32,
}

#[dsu::updateable]
pub fn origin() -> Point {
    Point { x: 0, y: 0 }
}

fn main() {
    assert_eq!(origin().x, origin().y);
}
