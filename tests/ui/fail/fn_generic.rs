#[dsu::updateable]
pub fn largest<T: PartialOrd + Copy>(items: &[T]) -> T {
    let mut best = items[0];
    for &item in items {
        if item > best {
            best = item;
        }
    }
    best
}

fn main() {
    assert_eq!(largest(&[1, 3, 2]), 3);
}
