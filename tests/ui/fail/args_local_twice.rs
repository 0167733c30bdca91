#[dsu::updateable(?Send, ?Send)]
pub async fn count(start: u32) -> u32 {
    start + 1
}

fn main() {}
