pub struct Old(u32);
pub struct New(u64);

#[dsu::transform(crate = nonexistent)]
fn convert(old: &Old) -> New {
    New(old.0.into())
}

fn main() {}
