pub struct Old(u32);
pub struct New(u64);

#[dsu::transform]
fn convert(old: &mut Old) -> New {
    New(old.0.into())
}

fn main() {}
