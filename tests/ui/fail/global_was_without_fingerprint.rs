use std::sync::Mutex;

pub struct Settings {
    pub limit: u32,
}

#[dsu::transform]
fn limit(old: &Settings) -> u32 {
    old.limit
}

#[dsu::updateable(was = Mutex<Settings>)]
static LIMIT: Mutex<u32> = Mutex::new(10);

fn main() {}
