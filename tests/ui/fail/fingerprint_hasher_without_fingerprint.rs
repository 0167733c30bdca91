use std::collections::HashMap;
use std::hash::BuildHasherDefault;

#[derive(Default)]
pub struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x100_0000_01b3);
        }
    }
}

// The hasher is part of the map: its shape is part of the map's.
#[dsu::updateable]
pub fn count(words: &HashMap<String, u32, BuildHasherDefault<Fnv>>) -> usize {
    words.len()
}

fn main() {
    let _ = count(&HashMap::default());
}
