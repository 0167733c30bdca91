use std::rc::Rc;

#[dsu::updateable]
pub async fn count(start: u32) -> u32 {
    let shared = Rc::new(start);
    tokio_free_yield().await;
    *shared + 1
}

async fn tokio_free_yield() {}

fn main() {}
