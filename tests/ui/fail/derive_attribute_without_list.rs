#[derive(dsu::Fingerprint)]
#[dsu]
pub struct Point {
    pub x: i32,
}

fn main() {
    let _ = Point { x: 1 };
}
