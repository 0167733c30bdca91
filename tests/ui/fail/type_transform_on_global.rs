use std::sync::atomic::AtomicU64;

#[dsu::updateable(was = u32, transform = widen)]
static COUNT: AtomicU64 = AtomicU64::new(0);

fn main() {}
