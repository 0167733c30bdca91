#[derive(dsu::Fingerprint)]
pub struct Connection {
    pub commands: u64,
}

fn main() {
    let connection = dsu::State::new(Connection { commands: 0 });
    let _ = connection;
}
