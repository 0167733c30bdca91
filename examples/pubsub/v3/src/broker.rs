//! The broker's state: who listens to which channel. It lives in a state cell
//! (`dsu::State<Broker>`) that the accept loop makes and every connection's task shares; a
//! version that changes its type converts it where it is.
//!
//! Code that runs after an `.await` reaches the broker through the updateable functions here,
//! never with `with` of its own: a future finishes in the version it started in, and the
//! update may have converted the broker while it waited.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::mpsc::UnboundedSender;

use crate::resp;

/// A message on its way to the connections that subscribe to its channel, encoded once as
/// each of them writes it. The same in every version: it is what the channels between the
/// broker and the connections carry, and a type alias, so that the running release's copy of
/// the broker's type (`dsu::base!`) holds senders of this very type.
pub type Push = Arc<[u8]>;

/// How many bytes of messages may wait for one connection, as Redis's default
/// `client-output-buffer-limit pubsub` allows: a subscriber further behind is dropped from its
/// channels and its connection closed.
pub const OUTBOX_LIMIT: usize = 32 << 20;

/// Where one connection's messages go, and how many bytes of them wait there. The same in
/// every version, as `Push` is.
#[derive(dsu::Fingerprint, Clone, Debug)]
pub struct Outbox {
    pub messages: UnboundedSender<Push>,
    pub queued: Arc<AtomicUsize>,
    /// Set once the connection fell more than `OUTBOX_LIMIT` behind.
    pub evicted: Arc<AtomicBool>,
}

impl Outbox {
    pub fn new(messages: UnboundedSender<Push>) -> Outbox {
        Outbox { messages, queued: Arc::default(), evicted: Arc::default() }
    }

    /// Queues a message for the connection. False if the connection is gone, or too far
    /// behind: then it is evicted, and gets no more.
    pub fn send(&self, push: &Push) -> bool {
        // Relaxed throughout: the count and the flag are limits, not a way to hand data over
        // (the channel does that); a publisher that reads them a moment late lets one message
        // more through.
        if self.evicted.load(Ordering::Relaxed) {
            return false;
        }
        if self.queued.fetch_add(push.len(), Ordering::Relaxed) + push.len() > OUTBOX_LIMIT {
            self.evicted.store(true, Ordering::Relaxed);
            return false;
        }
        self.messages.send(Arc::clone(push)).is_ok()
    }

    /// Counts a message out, as the connection takes it from its inbox.
    pub fn taken(&self, push: &Push) {
        self.queued.fetch_sub(push.len(), Ordering::Relaxed);
    }
}

/// One connection that listens to a channel: its id, and where its messages go.
#[derive(dsu::Fingerprint, Clone, Debug)]
pub struct Subscriber {
    pub id: u64,
    pub outbox: Outbox,
}

/// The broker: every channel that has subscribers, with them in the order they subscribed.
#[dsu::updateable]
pub struct Broker {
    pub channels: Mutex<HashMap<Vec<u8>, Vec<Subscriber>>>,
    /// The id the next connection gets: ids are never reused while the broker runs.
    pub next_id: AtomicU64,
    /// Connections open now.
    pub clients: AtomicU64,
    /// Messages published since the broker started.
    pub published: AtomicU64,
}

impl Broker {
    fn channels(&self) -> MutexGuard<'_, HashMap<Vec<u8>, Vec<Subscriber>>> {
        // A handler that panicked left the map as it was between two whole changes.
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The broker of a server that just started.
#[dsu::updateable]
pub fn open() -> dsu::State<Broker> {
    dsu::State::new(Broker {
        channels: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(1),
        clients: AtomicU64::new(0),
        published: AtomicU64::new(0),
    })
}

/// Counts a connection in and gives it its id.
#[dsu::updateable]
pub fn connected(broker: &dsu::State<Broker>) -> u64 {
    broker.with(|broker| {
        broker.clients.fetch_add(1, Ordering::Relaxed);
        broker.next_id.fetch_add(1, Ordering::Relaxed)
    })
}

/// Counts a connection out and takes it off the channels it listened to, one channel at a
/// time: publishers wait for one removal at most.
#[dsu::updateable]
pub fn disconnected(broker: &dsu::State<Broker>, id: u64, channels: &BTreeSet<Vec<u8>>) {
    broker.with(|broker| {
        broker.clients.fetch_sub(1, Ordering::Relaxed);
        for channel in channels {
            remove(&mut broker.channels(), channel, id);
        }
    })
}

/// Adds connection `id`, whose messages go to `outbox`, to the subscribers of `channel`.
#[dsu::updateable]
pub fn subscribe(broker: &dsu::State<Broker>, channel: &[u8], id: u64, outbox: &Outbox) {
    let subscriber = Subscriber { id, outbox: outbox.clone() };
    broker.with(|broker| broker.channels().entry(channel.to_vec()).or_default().push(subscriber))
}

/// Takes connection `id` off `channel`.
#[dsu::updateable]
pub fn unsubscribe(broker: &dsu::State<Broker>, channel: &[u8], id: u64) {
    broker.with(|broker| remove(&mut broker.channels(), channel, id))
}

fn remove(map: &mut HashMap<Vec<u8>, Vec<Subscriber>>, channel: &[u8], id: u64) {
    if let Some(subscribers) = map.get_mut(channel) {
        subscribers.retain(|subscriber| subscriber.id != id);
        if subscribers.is_empty() {
            map.remove(channel);
        }
    }
}

/// Sends `message` to every subscriber of `channel`, and says to how many it went. A
/// subscriber whose connection has closed, or that is too far behind, is taken off.
#[dsu::updateable]
pub fn publish(broker: &dsu::State<Broker>, channel: &[u8], message: &[u8]) -> u64 {
    broker.with(|broker| {
        broker.published.fetch_add(1, Ordering::Relaxed);
        let mut map = broker.channels();
        let Some(subscribers) = map.get_mut(channel) else { return 0 };
        let push = encode(channel, message);
        subscribers.retain(|subscriber| subscriber.outbox.send(&push));
        let delivered = subscribers.len() as u64;
        if subscribers.is_empty() {
            map.remove(channel);
        }
        delivered
    })
}

/// The channels that have subscribers, those that match `pattern` if there is one.
#[dsu::updateable]
pub fn channels(broker: &dsu::State<Broker>, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
    // Matched outside the broker's lock: publishers do not wait for a long pattern.
    let names: Vec<Vec<u8>> = broker.with(|broker| broker.channels().keys().cloned().collect());
    names.into_iter().filter(|name| pattern.is_none_or(|pattern| glob(pattern, name))).collect()
}

/// How many subscribe to `channel`.
#[dsu::updateable]
pub fn subscribers(broker: &dsu::State<Broker>, channel: &[u8]) -> u64 {
    broker.with(|broker| broker.channels().get(channel).map_or(0, |list| list.len() as u64))
}

/// Whether `text` matches the glob-style `pattern`: `*` is any run of bytes, `?` any one byte,
/// `\\` takes the next byte as it is. At most `pattern.len() * text.len()` steps.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    // The last `*` seen, and where in `text` its run would end next: on a mismatch, the run
    // takes one byte more and the match goes on from there.
    let (mut p, mut t, mut star) = (0, 0, None);
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
                continue;
            }
            Some(b'?') => {
                p += 1;
                t += 1;
                continue;
            }
            Some(b'\\') if pattern.get(p + 1) == Some(&text[t]) => {
                p += 2;
                t += 1;
                continue;
            }
            Some(&byte) if byte != b'\\' && byte == text[t] => {
                p += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        let Some((star_at, run_end)) = star else { return false };
        star = Some((star_at, run_end + 1));
        p = star_at + 1;
        t = run_end + 1;
    }
    pattern[p..].iter().all(|&byte| byte == b'*')
}

/// A message as its subscribers get it: `message`, the channel, the message.
fn encode(channel: &[u8], message: &[u8]) -> Push {
    let mut push = Vec::with_capacity(channel.len() + message.len() + 32);
    resp::array(&mut push, 3);
    resp::bulk(&mut push, b"message");
    resp::bulk(&mut push, channel);
    resp::bulk(&mut push, message);
    push.into()
}

/// How many connections are open, how many channels have subscribers, and how many messages
/// were published.
#[dsu::updateable]
pub fn counts(broker: &dsu::State<Broker>) -> (u64, u64, u64) {
    broker.with(|broker| {
        let channels = broker.channels().len() as u64;
        (broker.clients.load(Ordering::Relaxed), channels, broker.published.load(Ordering::Relaxed))
    })
}
