//! `crate = path` names the dsu crate through a re-export.

#![deny(warnings)]

mod my_dsu {
    pub use ::dsu::*;
}

mod deep {
    pub mod runtime {
        pub use ::dsu::*;
    }
}

#[derive(my_dsu::Fingerprint, Debug, PartialEq)]
#[dsu(crate = crate::my_dsu)]
pub struct Point {
    pub x: i32,
    pub y: i32,
}

#[derive(dsu::Fingerprint, Debug, PartialEq)]
#[dsu(crate = deep::runtime)]
pub enum Direction {
    Up,
    Down,
}

#[derive(dsu::Fingerprint)]
#[dsu(crate = ::dsu)]
pub struct Generic<T>(pub T);

#[dsu::updateable(crate = crate::my_dsu)]
pub fn mirror(point: Point) -> Point {
    Point { x: -point.x, y: -point.y }
}

#[dsu::updateable(crate = deep::runtime)]
pub fn flip(direction: Direction) -> Direction {
    match direction {
        Direction::Up => Direction::Down,
        Direction::Down => Direction::Up,
    }
}

#[dsu::updateable(crate = ::dsu,)]
pub fn unwrap(generic: Generic<u32>) -> u32 {
    generic.0
}

#[my_dsu::updateable(crate = my_dsu)]
impl Point {
    pub fn sum(&self) -> i32 {
        self.x + self.y
    }
}

#[dsu::updateable(crate = crate::my_dsu)]
impl std::fmt::Display for Point {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{},{}", self.x, self.y)
    }
}

fn main() {
    assert_eq!(mirror(Point { x: 1, y: -2 }), Point { x: -1, y: 2 });
    assert_eq!(flip(Direction::Up), Direction::Down);
    assert_eq!(unwrap(Generic(3)), 3);
    assert_eq!(Point { x: 1, y: 2 }.sum(), 3);
    assert_eq!(Point { x: 1, y: 2 }.to_string(), "1,2");
}
