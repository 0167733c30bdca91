pub struct New(u64);

#[dsu::transform]
fn convert<T: Into<u64> + Copy>(old: &T) -> New {
    New((*old).into())
}

fn main() {}
