mod v1 {
    pub enum Status {
        Idle,
    }
}

#[dsu::updateable(was = v1::Status)]
pub enum Status {
    Idle,
    Busy,
}

fn main() {}
