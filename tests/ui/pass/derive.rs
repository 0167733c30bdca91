//! `#[derive(dsu::Fingerprint)]` on every kind of type, used in updateable signatures.

#![deny(warnings)]

use dsu::fingerprint::of;

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

/// A type that contains itself, as a server's protocol frames do.
#[derive(dsu::Fingerprint, Debug, PartialEq)]
pub enum Frame {
    Text(String),
    Array(Vec<Frame>),
}

/// Two types that contain each other, one through `Self`.
#[derive(dsu::Fingerprint)]
pub struct Tree {
    pub children: Vec<Branch>,
    pub parent: Option<Box<Self>>,
}

#[derive(dsu::Fingerprint)]
pub struct Branch {
    pub tree: Tree,
}

/// A generic type that contains itself.
#[derive(dsu::Fingerprint)]
pub struct List<T> {
    pub head: T,
    pub tail: Option<Box<List<T>>>,
}

#[dsu::updateable]
pub fn depth(frame: &Frame) -> usize {
    match frame {
        Frame::Text(_) => 1,
        Frame::Array(frames) => 1 + frames.iter().map(depth).max().unwrap_or(0),
    }
}

#[dsu::updateable]
pub fn branches(tree: &Tree, list: &List<u32>) -> usize {
    tree.children.len() + list.tail.is_some() as usize
}

fn main() {
    let frame = Frame::Array(vec![Frame::Array(vec![Frame::Text("x".to_owned())])]);
    assert_eq!(depth(&frame), 3);
    let tree = Tree { children: Vec::new(), parent: None };
    assert_eq!(branches(&tree, &List { head: 1, tail: None }), 0);
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
    assert_ne!(of::<Named>(), of::<Tuple>());
    assert_ne!(of::<Pair<u32, String>>(), of::<Pair<String, u32>>());
    assert_eq!(of::<Borrowed<'static>>(), of::<Borrowed<'_>>());
    assert_ne!(of::<Shape>(), of::<Level>());
    assert_ne!(of::<Frame>(), of::<Tree>());
    assert_ne!(of::<List<u32>>(), of::<List<u64>>());
}
