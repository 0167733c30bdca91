#[dsu::transaction(timeout = 5)]
fn handle(request: u32) -> u32 {
    request + 1
}

fn main() {
    assert_eq!(handle(1), 2);
}
