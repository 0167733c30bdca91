// A mistake in `#[dsu(..)]` is one error: the type still gets its fingerprint, so the function
// and the global that use it do not add errors of their own.
#[derive(dsu::Fingerprint)]
#[dsu(crate = ::dsu, bogus)]
pub struct Point {
    pub x: i32,
}

#[dsu::updateable]
pub fn norm(point: &Point) -> i32 {
    point.x.abs()
}

#[dsu::updateable]
static ORIGIN: Point = Point { x: 0 };

fn main() {
    let _ = ORIGIN.with(norm);
}
