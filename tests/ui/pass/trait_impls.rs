//! Trait impls: a std trait and a user trait, beside an inherent impl of the same type; a
//! trait with an associated type named in a signature; a user trait on a foreign type.

#![deny(warnings)]

use std::fmt;

#[derive(dsu::Fingerprint)]
pub struct Point {
    pub x: i32,
    pub y: i32,
}

#[dsu::updateable]
impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.x, self.y)
    }
}

pub trait Shape {
    const SIDES: u32;

    fn area(&self) -> i32;

    fn scaled(&self, by: i32) -> Self;

    fn unit() -> Self;

    fn describe(&self) -> String {
        format!("a shape of area {}", self.area())
    }
}

#[dsu::updateable]
impl Shape for Point {
    const SIDES: u32 = 0;

    fn area(&self) -> i32 {
        Self::SIDES as i32
    }

    fn scaled(&self, by: i32) -> Self {
        Point { x: self.x * by, y: self.y * by }
    }

    fn unit() -> Self {
        Point { x: 1, y: 1 }
    }
}

pub trait Named {
    fn name(&self) -> String;
}

// Two traits with a method of the same name on one type.
pub trait Labelled {
    fn name(&self) -> String;
}

#[dsu::updateable]
impl Named for Point {
    fn name(&self) -> String {
        "named".to_owned()
    }
}

#[dsu::updateable]
impl Labelled for Point {
    fn name(&self) -> String {
        "labelled".to_owned()
    }
}

#[dsu::updateable]
impl Point {
    pub fn name(&self) -> String {
        "inherent".to_owned()
    }
}

#[dsu::updateable]
impl Clone for Point {
    fn clone(&self) -> Self {
        Point { x: self.x, y: self.y }
    }
}

#[derive(dsu::Fingerprint, Clone, Copy, Debug, PartialEq)]
pub struct Money(pub u64);

#[dsu::updateable]
impl std::ops::Add for Money {
    type Output = Money;

    fn add(self, other: Self) -> Self::Output {
        let sum: Self::Output = Money(self.0 + other.0);
        sum
    }
}

pub trait Doubled {
    fn doubled(&self) -> Self;
}

#[dsu::updateable]
impl Doubled for u32 {
    fn doubled(&self) -> u32 {
        self * 2
    }
}

fn main() {
    let point = Point { x: 1, y: -2 };
    assert_eq!(point.to_string(), "(1, -2)");
    assert_eq!(point.area(), 0);
    assert_eq!(point.describe(), "a shape of area 0");
    assert_eq!(point.scaled(3).to_string(), "(3, -6)");
    assert_eq!(Point::unit().to_string(), "(1, 1)");
    assert_eq!(<Point as Shape>::SIDES, 0);
    assert_eq!(Named::name(&point), "named");
    assert_eq!(Labelled::name(&point), "labelled");
    assert_eq!(point.name(), "inherent");
    assert_eq!(point.clone().to_string(), "(1, -2)");
    assert_eq!(Money(2) + Money(3), Money(5));
    assert_eq!(21u32.doubled(), 42);
}
