//! `#[derive(dsu::Fingerprint)]` on every kind of type, used in updateable signatures.

#![deny(warnings)]

use dsu::Fingerprint;

#[derive(dsu::Fingerprint, Debug, PartialEq)]
pub struct Named {
    pub id: u32,
    pub name: String,
}

#[derive(dsu::Fingerprint, Debug, PartialEq)]
pub struct Tuple(pub u32, pub String);

#[derive(dsu::Fingerprint, Debug, PartialEq)]
pub struct Unit;

#[derive(dsu::Fingerprint, Debug, PartialEq)]
pub enum Shape {
    Empty,
    Circle(u32),
    Rect { width: u32, height: u32 },
}

#[derive(dsu::Fingerprint, Debug, PartialEq, Clone, Copy)]
#[repr(u8)]
pub enum Level {
    Low = 1,
    High = 2,
}

#[derive(dsu::Fingerprint, Debug, PartialEq)]
pub struct Pair<A, B> {
    pub first: A,
    pub second: B,
}

#[derive(dsu::Fingerprint, Debug, PartialEq)]
pub struct Borrowed<'a> {
    pub text: &'a str,
}

#[derive(dsu::Fingerprint)]
#[repr(C)]
pub union Bits {
    pub int: u32,
    pub float: f32,
}

#[derive(dsu::Fingerprint, Debug, PartialEq)]
pub struct Nested {
    pub shapes: Vec<Shape>,
    pub pair: Option<Pair<Tuple, Unit>>,
}

#[dsu::updateable]
pub fn rename(named: Named, name: &str) -> Named {
    Named { name: name.to_owned(), ..named }
}

#[dsu::updateable]
pub fn tuple(value: Tuple) -> u32 {
    value.0
}

#[dsu::updateable]
pub fn area(shape: &Shape) -> u32 {
    match shape {
        Shape::Empty => 0,
        Shape::Circle(r) => 3 * r * r,
        Shape::Rect { width, height } => width * height,
    }
}

#[dsu::updateable]
pub fn raise(level: Level) -> Level {
    match level {
        Level::Low | Level::High => Level::High,
    }
}

#[dsu::updateable]
pub fn swap(pair: Pair<u32, String>) -> Pair<String, u32> {
    Pair { first: pair.second, second: pair.first }
}

#[dsu::updateable]
pub fn text<'a>(borrowed: &Borrowed<'a>) -> &'a str {
    borrowed.text
}

#[dsu::updateable]
pub fn int(bits: Bits) -> u32 {
    // SAFETY: every bit pattern is a valid `u32`.
    unsafe { bits.int }
}

#[dsu::updateable]
pub fn count(nested: &Nested) -> usize {
    nested.shapes.len() + usize::from(nested.pair.is_some())
}

#[dsu::updateable]
pub fn unit(unit: Unit) -> Unit {
    unit
}

fn main() {
    let named = rename(Named { id: 1, name: "a".to_owned() }, "b");
    assert_eq!(named, Named { id: 1, name: "b".to_owned() });
    assert_eq!(tuple(Tuple(4, String::new())), 4);
    assert_eq!(area(&Shape::Rect { width: 2, height: 3 }), 6);
    assert_eq!(area(&Shape::Circle(1)), 3);
    assert_eq!(area(&Shape::Empty), 0);
    assert_eq!(raise(Level::Low), Level::High);
    let swapped = swap(Pair { first: 1, second: "x".to_owned() });
    assert_eq!(swapped, Pair { first: "x".to_owned(), second: 1 });
    assert_eq!(text(&Borrowed { text: "t" }), "t");
    assert_eq!(int(Bits { int: 5 }), 5);
    let nested = Nested {
        shapes: vec![Shape::Empty],
        pair: Some(Pair { first: Tuple(1, String::new()), second: Unit }),
    };
    assert_eq!(count(&nested), 2);
    assert_eq!(unit(Unit), Unit);

    // Fingerprints tell shapes apart.
    assert_ne!(Named::FINGERPRINT, Tuple::FINGERPRINT);
    assert_ne!(<Pair<u32, String>>::FINGERPRINT, <Pair<String, u32>>::FINGERPRINT);
    assert_eq!(<Borrowed<'static>>::FINGERPRINT, <Borrowed<'_>>::FINGERPRINT);
    assert_ne!(Shape::FINGERPRINT, Level::FINGERPRINT);
}
