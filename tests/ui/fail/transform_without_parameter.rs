pub struct New(u64);

#[dsu::transform]
fn convert() -> New {
    New(0)
}

fn main() {}
