mod v1 {
    #[derive(dsu::Fingerprint)]
    pub struct Connection {
        pub commands: u32,
    }
}

#[dsu::updateable(was = v1::Connection, transform = connection)]
pub struct Connection {
    pub commands: u64,
}

/// Converts from another type than `was`.
#[dsu::transform]
fn connection(old: &u32) -> Connection {
    Connection { commands: u64::from(*old) }
}

fn main() {}
