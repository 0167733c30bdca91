//! The program's shared dependencies, each named once so that this dylib links it.

pub use tokio;
