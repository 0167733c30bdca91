#[dsu::updateable]
pub enum Shape {
    Circle(u32),
    Square(u32),
}

fn main() {
    assert!(matches!(Shape::Circle(1), Shape::Circle(_)));
    let _ = Shape::Square(2);
}
