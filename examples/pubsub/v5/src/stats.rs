//! The broker's own channel: a background task publishes what the broker counts on
//! `$SYS/broker`, ten times a second, as MQTT brokers publish theirs under `$SYS`.
//!
//! The task's loop never changes its code: each turn awaits the updateable `announce`, whose
//! wait is its timer, and which reaches the broker through updateable calls once the wait is
//! over.

use std::sync::Arc;
use std::time::Duration;

use crate::broker::{self, Broker};

/// The channel the broker publishes its counts on.
pub const CHANNEL: &[u8] = b"$SYS/broker";

/// How often it does.
const INTERVAL: Duration = Duration::from_millis(100);

/// Publishes the counts until the process ends.
pub async fn announce_forever(broker: Arc<dsu::State<Broker>>) {
    loop {
        announce(&broker).await;
    }
}

/// One turn: waits, then publishes the counts.
#[dsu::updateable]
pub async fn announce(broker: &dsu::State<Broker>) {
    tokio::time::sleep(INTERVAL).await;
    let line = line(broker);
    broker::publish(broker, CHANNEL, line.as_bytes());
}

/// What `$SYS/broker` says.
#[dsu::updateable]
pub fn line(broker: &dsu::State<Broker>) -> String {
    let (clients, channels, _) = broker::counts(broker);
    format!("clients={clients} channels={channels}")
}
