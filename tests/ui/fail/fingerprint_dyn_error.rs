use std::error::Error;

// `downcast` trusts a `TypeId`, which a type keeps across versions even when it changes.
#[dsu::updateable]
pub fn parse(text: &str) -> Result<u32, Box<dyn Error + Send + Sync>> {
    Ok(text.parse()?)
}

fn main() {
    let _ = parse("1");
}
