#[dsu::transaction]
async fn handle(request: u32) -> u32 {
    request + 1
}

fn main() {
    let _ = handle(1);
}
