#[derive(dsu::Fingerprint)]
pub struct Log {
    lines: Vec<String>,
}

#[dsu::updateable]
impl Log {
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn push<T: ToString>(&mut self, line: T) {
        self.lines.push(line.to_string());
    }
}

fn main() {
    let mut log = Log { lines: Vec::new() };
    log.push(1);
    assert_eq!(log.len(), 1);
}
