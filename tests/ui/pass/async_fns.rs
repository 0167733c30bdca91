//! Updateable `async fn`s: free, inherent and trait impl methods, borrowed parameters, `?Send`
//! futures, and the futures each version runs in `dsu::status()`.

#![deny(warnings)]

use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

#[dsu::updateable]
pub async fn double(n: u32) -> u32 {
    n * 2
}

#[dsu::updateable]
pub async fn longest<'a>(words: &'a [String], extra: &str) -> usize {
    words.iter().map(String::len).max().unwrap_or(0) + extra.len()
}

#[dsu::updateable(?Send)]
pub async fn shared(count: Rc<u32>) -> u32 {
    *count + 1
}

#[derive(dsu::Fingerprint)]
pub struct Greeter {
    name: String,
}

#[dsu::updateable]
impl Greeter {
    pub async fn greet(&self, whom: &str) -> String {
        format!("{} greets {whom}", self.name)
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

pub trait Handle {
    #[allow(async_fn_in_trait)]
    async fn handle(&mut self, line: String) -> String;
}

#[dsu::updateable]
impl Handle for Greeter {
    async fn handle(&mut self, line: String) -> String {
        self.name.push('!');
        format!("{} handles {line}", self.name)
    }
}

fn is_send<T: Send>(value: T) -> T {
    value
}

struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

/// Polls `future`, which never waits, to its end.
fn run<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(Noop));
    let mut context = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

fn running(path: &str) -> usize {
    let status = dsu::status();
    status.futures.iter().filter(|f| f.item.path.ends_with(path)).map(|f| f.running).sum()
}

fn main() {
    assert_eq!(run(is_send(double(21))), 42);
    let words = vec!["a".to_owned(), "abc".to_owned()];
    assert_eq!(run(is_send(longest(&words, "xy"))), 5);
    assert_eq!(run(shared(Rc::new(1))), 2);
    let mut greeter = Greeter { name: "ada".to_owned() };
    assert_eq!(run(is_send(greeter.greet("bob"))), "ada greets bob");
    assert_eq!(run(is_send(greeter.handle("ping".to_owned()))), "ada! handles ping");
    assert_eq!(greeter.name(), "ada!");

    // A future counts while it exists and is not done, in the version that made it.
    let waiting = double(1);
    assert_eq!(running("::double"), 0, "a future not yet polled runs nothing");
    assert_eq!(run(waiting), 2);
    assert_eq!(running("::double"), 0);
}
