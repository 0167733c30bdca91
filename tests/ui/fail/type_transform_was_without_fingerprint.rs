mod v1 {
    pub struct Connection {
        pub commands: u32,
    }
}

#[dsu::updateable(was = v1::Connection, transform = connection)]
pub struct Connection {
    pub commands: u64,
}

#[dsu::transform]
fn connection(old: &v1::Connection) -> Connection {
    Connection { commands: u64::from(old.commands) }
}

fn main() {}
