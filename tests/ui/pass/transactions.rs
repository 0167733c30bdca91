//! `#[dsu::transaction]` on free functions, methods alone, generic functions, trait impl
//! methods, with `?` and early returns, above and below `#[dsu::updateable]`, through a
//! renamed path; and the block and movable forms.

#![deny(warnings)]

use std::num::ParseIntError;

#[dsu::updateable]
pub fn double(x: u32) -> u32 {
    x * 2
}

#[dsu::transaction]
pub fn parse_and_double(text: &str) -> Result<u32, ParseIntError> {
    let value: u32 = text.trim().parse()?;
    if value == 0 {
        return Ok(0);
    }
    Ok(double(value))
}

#[dsu::transaction]
pub fn largest<T: PartialOrd + Copy>(items: &[T]) -> Option<T> {
    items.iter().copied().fold(None, |best, item| match best {
        Some(best) if best >= item => Some(best),
        _ => Some(item),
    })
}

#[dsu::transaction]
#[dsu::updateable]
pub fn handle_above(x: u32) -> u32 {
    double(x) + 1
}

#[dsu::updateable]
#[dsu::transaction]
pub fn handle_below(x: u32) -> u32 {
    double(x) + 2
}

pub struct Server {
    pub served: u32,
}

impl Server {
    #[dsu::transaction]
    pub fn serve(&mut self, x: u32) -> u32 {
        self.served += 1;
        double(x)
    }
}

pub trait Handler {
    fn handle(&self, x: u32) -> u32;
}

impl Handler for Server {
    #[dsu::transaction(crate = ::dsu)]
    fn handle(&self, x: u32) -> u32 {
        double(x) + self.served
    }
}

fn main() {
    assert_eq!(parse_and_double(" 21 "), Ok(42));
    assert_eq!(parse_and_double("0"), Ok(0));
    assert!(parse_and_double("x").is_err());
    assert_eq!(largest(&[3, 9, 2]), Some(9));
    assert_eq!((handle_above(1), handle_below(1)), (3, 4));
    let mut server = Server { served: 0 };
    assert_eq!(server.serve(2), 4);
    assert_eq!(server.handle(2), 5);
    assert_eq!(dsu::transaction(|| parse_and_double("2")), Ok(4));
    let mut moved = dsu::Transaction::begin();
    let top = moved.run(|| double(1));
    let bottom = std::thread::spawn(move || moved.run(|| double(top))).join().unwrap();
    assert_eq!(bottom, 4);
}
