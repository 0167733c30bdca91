mod v1 {
    #[derive(dsu::Fingerprint)]
    pub enum Status {
        Idle,
        Busy(u32),
    }
}

#[dsu::updateable(was = v1::Status)]
#[derive(dsu::Fingerprint)]
pub enum Status {
    Idle,
    Working(u32),
}

fn main() {}
