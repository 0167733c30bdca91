pub struct Point {
    pub x: i32,
    pub y: i32,
}

#[dsu::updateable]
pub fn norm(point: &Point) -> i32 {
    point.x.abs() + point.y.abs()
}

fn main() {
    assert_eq!(norm(&Point { x: 1, y: -2 }), 3);
}
