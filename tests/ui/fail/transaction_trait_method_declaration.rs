pub trait Handler {
    #[dsu::transaction]
    fn handle(&self, request: u32) -> u32;
}

fn main() {}
