use std::sync::atomic::{AtomicU64, Ordering};

mod my_dsu {
    pub use ::dsu::*;
}

// The global is declared through the crate it names even when another argument is wrong:
// one error, at the mistake.
#[dsu::updateable(crate = my_dsu, reversible)]
static HITS: AtomicU64 = AtomicU64::new(0);

fn main() {
    HITS.with(|hits| hits.fetch_add(1, Ordering::Relaxed));
}
