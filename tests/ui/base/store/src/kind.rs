/// What an entry holds.
#[derive(dsu::Fingerprint, Clone, Debug, PartialEq)]
pub enum Kind {
    Text,
    Number { digits: u32 },
}
