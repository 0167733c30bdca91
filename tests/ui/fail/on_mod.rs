#[dsu::updateable]
mod handlers {
    pub fn handle() -> u32 {
        1
    }
}

fn main() {
    assert_eq!(handlers::handle(), 1);
}
