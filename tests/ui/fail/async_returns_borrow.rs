#[dsu::updateable]
pub async fn first(words: &[String]) -> &str {
    &words[0]
}

fn main() {}
