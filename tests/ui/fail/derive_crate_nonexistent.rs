#[derive(dsu::Fingerprint)]
#[dsu(crate = nonexistent)]
pub struct Point {
    pub x: i32,
    pub y: i32,
}

fn main() {
    let _ = Point { x: 1, y: 2 };
}
