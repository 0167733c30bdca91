use std::sync::atomic::AtomicU64;

#[dsu::updateable(was = AtomicU64, reversible, reversible)]
static HITS: AtomicU64 = AtomicU64::new(0);

fn main() {}
