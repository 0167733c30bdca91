#[dsu::transform]
pub struct Entry {
    pub value: String,
}

fn main() {
    let _ = Entry { value: String::new() };
}
