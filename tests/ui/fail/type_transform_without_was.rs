#[dsu::updateable(transform = connection)]
pub struct Connection {
    pub commands: u64,
}

fn main() {}
