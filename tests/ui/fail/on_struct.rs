#[dsu::updateable]
pub struct Point {
    pub x: i32,
    pub y: i32,
}

fn main() {
    let point = Point { x: 1, y: 2 };
    assert_eq!(point.x + point.y, 3);
}
