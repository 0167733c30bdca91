//! The futures of updateable `async fn`s.
//!
//! Each version's future is a type of its own, of a size of its own, so what crosses from one
//! image to another is a boxed future: a call through another image's slot gets one from that
//! image's bridge ([`boxed`]). A call that reaches the caller's own image's implementation, the
//! common case, awaits the implementation's future in place, unboxed.
//!
//! A future runs in the version it started in: its `poll` is code of the image that made it,
//! and images are never unloaded. Every updateable call it makes afterwards goes through a slot,
//! and so reaches the newest version (unless a transaction binds it). Each image counts, per
//! item, the futures of its implementation still running ([`InFlight`]); `dsu::status()` reads
//! the counts, so that an operator sees when an old version's code has drained.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use crate::unwind::{self, Returned};

/// The future a bridge hands another image, whose output is the value or the panic of the
/// implementation's future. `Send`, as updateable async fns are unless marked `?Send`.
pub type Boxed<'a, R> = Pin<Box<dyn Future<Output = Returned<R>> + Send + 'a>>;

/// [`Boxed`], for an updateable async fn marked `?Send`.
pub type BoxedLocal<'a, R> = Pin<Box<dyn Future<Output = Returned<R>> + 'a>>;

/// How many futures of one item's implementation in one image are still running: polled at
/// least once and neither finished nor dropped, whichever image's code awaits them. (The
/// generated call starts its work at its first poll, as every `async fn` does.)
#[doc(hidden)]
pub struct InFlight(AtomicUsize);

impl InFlight {
    pub const fn new() -> InFlight {
        InFlight(AtomicUsize::new(0))
    }

    /// Counts a future of the implementation until the returned guard is dropped.
    #[inline(always)]
    pub fn start(&'static self) -> Running {
        // Relaxed: the count is read for a report, and orders nothing.
        self.0.fetch_add(1, Ordering::Relaxed);
        Running(self)
    }

    /// The futures running now.
    pub(crate) fn running(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// As the address a descriptor carries (`ItemDesc::futures`).
    pub const fn as_erased(&'static self) -> *const () {
        (self as *const InFlight).cast()
    }
}

impl Default for InFlight {
    fn default() -> Self {
        InFlight::new()
    }
}

/// One future counted in an [`InFlight`], until dropped.
#[doc(hidden)]
pub struct Running(&'static InFlight);

impl Drop for Running {
    #[inline(always)]
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The count a descriptor's `futures` points at, if it has one.
///
/// # Safety
/// `futures` is null or the `as_erased` of an `InFlight` of an image that is never unloaded,
/// as the descriptors `#[dsu::updateable]` writes have it.
pub(crate) unsafe fn of_desc(futures: *const ()) -> Option<&'static InFlight> {
    // SAFETY: by the caller's contract, null or a live `InFlight`.
    unsafe { futures.cast::<InFlight>().as_ref() }
}

pin_project_lite::pin_project! {
    /// An implementation's future as its bridge hands it to another image: counted while it
    /// lives, and each poll run under this image's `catch_unwind`, so that a panic comes back
    /// to the awaiting image as a value it raises again (`unwind.rs`).
    struct Caught<F> {
        #[pin]
        future: F,
        // Given back when the future finishes, or dropped after it.
        running: Option<Running>,
    }
}

impl<F: Future> Future for Caught<F> {
    type Output = Returned<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        assert!(
            this.running.is_some(),
            "an updateable async fn's future was polled after it completed"
        );
        let future = this.future;
        let polled = match unwind::catch(move || future.poll(cx)) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(value)) => Ok(value),
            Err(payload) => Err(payload),
        };
        *this.running = None;
        Poll::Ready(polled)
    }
}

/// What an async bridge returns: `future`, the implementation's, counted in `futures` and
/// boxed for another image.
#[inline]
pub fn boxed<'a, F>(futures: &'static InFlight, future: F) -> Boxed<'a, F::Output>
where
    F: Future + Send + 'a,
{
    Box::pin(Caught { future, running: Some(futures.start()) })
}

/// [`boxed`], for a future that is not `Send`.
#[inline]
pub fn boxed_local<'a, F>(futures: &'static InFlight, future: F) -> BoxedLocal<'a, F::Output>
where
    F: Future + 'a,
{
    Box::pin(Caught { future, running: Some(futures.start()) })
}

/// The value of a future another image's bridge handed over, or its panic raised again here.
#[inline]
pub async fn finish<R, F: Future<Output = Returned<R>>>(future: F) -> R {
    unwind::finish(future.await)
}

#[cfg(test)]
mod tests {
    use std::panic::AssertUnwindSafe;
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    use super::*;

    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    fn block_on<F: Future>(future: F) -> F::Output {
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
                return value;
            }
        }
    }

    /// Ready on its second poll.
    struct Twice(bool);
    impl Future for Twice {
        type Output = u32;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            if std::mem::replace(&mut self.0, true) {
                return Poll::Ready(7);
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    #[test]
    fn a_boxed_future_is_counted_until_it_finishes_or_is_dropped() {
        static FUTURES: InFlight = InFlight::new();
        let first = boxed(&FUTURES, Twice(false));
        let second = boxed(&FUTURES, Twice(false));
        assert_eq!(FUTURES.running(), 2);
        let mut first = std::pin::pin!(first);
        assert_eq!(block_on(first.as_mut()).ok(), Some(7));
        assert_eq!(FUTURES.running(), 1, "a finished future is no longer counted");
        drop(second);
        assert_eq!(FUTURES.running(), 0, "a future dropped unfinished is not counted");
    }

    #[test]
    fn a_panic_in_poll_comes_back_as_a_value() {
        static FUTURES: InFlight = InFlight::new();
        let future = boxed(&FUTURES, async { panic!("in poll") });
        let caught = std::panic::catch_unwind(AssertUnwindSafe(|| block_on(future)));
        let Ok(Err(payload)) = caught else { panic!("the panic is the future's value") };
        assert_eq!(unwind::message(&*payload), "in poll");
        assert_eq!(FUTURES.running(), 0);
    }
}
