pub struct Settings {
    pub limit: u32,
}

#[dsu::updateable]
pub static SETTINGS: Settings = Settings { limit: 10 };

fn main() {
    assert_eq!(SETTINGS.with(|settings| settings.limit), 10);
}
