//! `#[dsu::transaction]` on `async fn`s: free, methods, with `?` and `return`, beside
//! `#[dsu::updateable]` in either order, and `dsu::transaction_future` around any future.

#![deny(warnings)]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

#[dsu::updateable]
async fn parse(line: &str) -> Result<u32, String> {
    line.trim().parse().map_err(|_| format!("not a number: {line}"))
}

#[dsu::transaction]
async fn double(line: &str) -> Result<u32, String> {
    let value = parse(line).await?;
    if value == 0 {
        return Ok(0);
    }
    Ok(value * 2)
}

#[dsu::transaction]
async fn nothing() {}

#[dsu::transaction]
async fn iterator(values: Vec<u32>) -> impl Iterator<Item = u32> {
    values.into_iter()
}

#[dsu::updateable]
#[dsu::transaction]
async fn counted(value: u32) -> u32 {
    value + 1
}

#[dsu::transaction]
#[dsu::updateable]
async fn counted_too(value: u32) -> u32 {
    value + 2
}

pub struct Store {
    total: u32,
}

impl Store {
    #[dsu::transaction]
    async fn add(&mut self, line: &str) -> Result<u32, String> {
        self.total += parse(line).await?;
        Ok(self.total)
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

fn main() {
    assert_eq!(run(is_send(double("21"))), Ok(42));
    assert_eq!(run(double("0")), Ok(0));
    assert_eq!(run(double("x")), Err("not a number: x".to_owned()));
    run(nothing());
    assert_eq!(run(iterator(vec![1, 2])).sum::<u32>(), 3);
    assert_eq!(run(is_send(counted(1))), 2);
    assert_eq!(run(counted_too(1)), 3);
    let mut store = Store { total: 1 };
    assert_eq!(run(is_send(store.add("2"))), Ok(3));
    let wrapped = dsu::transaction_future(async { run(parse("5")).map(|value| value + 1) });
    assert_eq!(run(is_send(wrapped)), Ok(6));
}
