#[derive(dsu::Fingerprint)]
pub struct Old(pub u32);

#[derive(dsu::Fingerprint)]
pub struct New(pub u64);

#[dsu::transform(skip)]
fn new(old: &Old) -> New {
    New(u64::from(old.0))
}

fn main() {
    let _ = new;
}
