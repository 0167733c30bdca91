//! Updateable types held in state cells: a struct and an enum, read and changed through the
//! cells, shared between threads, and held by a struct whose fingerprint does not depend on
//! the cell's value type.

use std::sync::Arc;

#[dsu::updateable]
#[derive(Default)]
pub struct Connection {
    pub commands: u64,
    pub name: String,
}

#[dsu::updateable]
pub enum Mode {
    Idle,
    Busy(u32),
}

/// Holds cells: its shape is that of the cells, whatever `Connection` is.
#[derive(dsu::Fingerprint)]
pub struct Server {
    pub connections: Vec<dsu::State<Connection>>,
}

fn main() {
    let mut connection = dsu::State::new(Connection::default());
    connection.with_mut(|connection| connection.commands += 1);
    assert_eq!(connection.with(|connection| connection.commands), 1);

    let mode = Arc::new(dsu::State::new(Mode::Busy(3)));
    let reader = Arc::clone(&mode);
    let busy = std::thread::spawn(move || reader.with(|mode| matches!(mode, Mode::Busy(3))));
    assert!(busy.join().unwrap());
    assert!(!mode.with(|mode| matches!(mode, Mode::Idle)));

    let server = Server { connections: (0..3).map(|_| dsu::State::default()).collect() };
    assert_eq!(server.connections.len(), 3);
    let status = dsu::status();
    let connections = status.cells.iter().find(|cells| cells.type_name.ends_with("::Connection"));
    assert_eq!(connections.map(|cells| cells.cells), Some(4), "{status}");
    drop(server);
    let status = dsu::status();
    let connections = status.cells.iter().find(|cells| cells.type_name.ends_with("::Connection"));
    assert_eq!(connections.map(|cells| cells.cells), Some(1), "{status}");
}
