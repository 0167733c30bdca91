pub struct Old(u32);
pub struct New(u64);

#[dsu::transform]
fn convert(old: &Old, scale: u64) -> New {
    New(u64::from(old.0) * scale)
}

fn main() {}
