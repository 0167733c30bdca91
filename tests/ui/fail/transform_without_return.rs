pub struct Old(u32);

#[dsu::transform]
fn convert(old: &Old) {
    let _ = old.0;
}

fn main() {}
