#[dsu::updateable]
pub async fn fetch(id: u32) -> u32 {
    id + 1
}

fn main() {
    let _future = fetch(1);
}
