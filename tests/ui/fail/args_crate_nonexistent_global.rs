use std::sync::atomic::{AtomicU64, Ordering};

#[dsu::updateable(crate = nonexistent)]
static HITS: AtomicU64 = AtomicU64::new(0);

fn main() {
    HITS.with(|hits| hits.fetch_add(1, Ordering::Relaxed));
}
