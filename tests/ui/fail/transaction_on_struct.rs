#[dsu::transaction]
pub struct Request {
    pub id: u32,
}

fn main() {
    let _ = Request { id: 1 };
}
