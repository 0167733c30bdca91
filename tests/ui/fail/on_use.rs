#[dsu::updateable]
use std::collections::HashMap;

fn main() {
    let map: HashMap<u32, u32> = HashMap::new();
    assert!(map.is_empty());
}
