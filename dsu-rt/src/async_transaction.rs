//! Transactions across `.await`: a future whose every poll runs in one transaction.
//!
//! A task's code runs in pieces, its polls, on whichever worker thread the async runtime
//! picks. The transaction is the future's: it owns a record, as a movable [`Transaction`]
//! does, and attaches it to the thread for each poll, so its effects add up across polls and
//! threads. Futures the body spawns are polled by the runtime outside these polls: they do
//! not run in the transaction unless handed one ([`Transaction::run_future`]).
//!
//! Before each poll the future looks at the gate (`gate::wait_at_boundary`): while an update
//! waits, a transaction that has called nothing the update changes returns `Pending` without
//! polling its body, and is woken when the update has committed or given up. Inside a poll,
//! a call that meets a waiting update binds the transaction to the old version as long as
//! the update has not decided to commit, and otherwise waits only for the commit
//! (`protocol::Pending::held`): no poll waits for another task, so a runtime whose every
//! worker is inside such a poll, one worker even, never waits on itself.

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::transaction::Transaction;

pin_project_lite::pin_project! {
    /// A future run as one transaction: see [`transaction_future`].
    #[must_use = "futures do nothing unless polled"]
    pub struct TransactionFuture<'t, F> {
        #[pin]
        future: F,
        transaction: Handle<'t>,
    }
}

/// The transaction of a [`TransactionFuture`].
enum Handle<'t> {
    /// Begun at the first poll, where `#[dsu::transaction]` or `transaction_future` is.
    NotBegun(&'static Location<'static>),
    /// Ended when the future completes or is dropped.
    Owned(Transaction),
    /// Handed over by `Transaction::run_future`: goes on after the future.
    Borrowed(&'t mut Transaction),
    Done,
}

/// Runs `future` as a transaction: every updateable call it makes, in all its polls and on
/// whichever threads they run, appears to run in one version of the program. The transaction
/// begins at the first poll and ends when the future completes or is dropped. What
/// `#[dsu::transaction]` on an `async fn` writes.
///
/// ```
/// #[dsu::updateable]
/// async fn parse(line: String) -> Vec<String> {
///     line.split_whitespace().map(str::to_owned).collect()
/// }
///
/// #[dsu::updateable]
/// fn respond(request: &[String]) -> String {
///     format!("{} words", request.len())
/// }
///
/// # let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// # runtime.block_on(async {
/// // `parse` and `respond` run in one version, even if an update lands during the await.
/// let reply = dsu::transaction_future(async {
///     let request = parse("GET /index.html".to_owned()).await;
///     respond(&request)
/// })
/// .await;
/// assert_eq!(reply, "2 words");
/// # });
/// ```
#[track_caller]
pub fn transaction_future<F: Future>(future: F) -> TransactionFuture<'static, F> {
    transaction_future_at(Location::caller(), future)
}

/// [`transaction_future`] begun at `origin`. The output type is named, so that the body of
/// the `async fn` `#[dsu::transaction]` wraps is checked against the function's.
#[doc(hidden)]
pub fn transaction_future_at<R, F: Future<Output = R>>(
    origin: &'static Location<'static>,
    future: F,
) -> TransactionFuture<'static, F> {
    TransactionFuture { future, transaction: Handle::NotBegun(origin) }
}

impl Transaction {
    /// Runs `future` as a piece of this transaction, each of its polls as `run` runs a
    /// closure: the way to hand a transaction to a task spawned in it, which does not
    /// otherwise run in it. The transaction goes on after the future.
    ///
    /// ```
    /// #[dsu::updateable]
    /// async fn fetch(key: u32) -> u32 {
    ///     key * 2
    /// }
    ///
    /// # let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    /// # runtime.block_on(async {
    /// let mut transaction = dsu::Transaction::begin();
    /// let first = transaction.run_future(fetch(1)).await;
    /// // The same transaction, on a task of its own.
    /// let task = tokio::spawn(async move {
    ///     let second = transaction.run_future(fetch(2)).await;
    ///     drop(transaction); // the transaction ends here
    ///     second
    /// });
    /// assert_eq!((first, task.await.unwrap()), (2, 4));
    /// # });
    /// ```
    pub fn run_future<F: Future>(&mut self, future: F) -> TransactionFuture<'_, F> {
        TransactionFuture { future, transaction: Handle::Borrowed(self) }
    }
}

impl<F: Future> Future for TransactionFuture<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if let Handle::NotBegun(origin) = *this.transaction {
            *this.transaction = Handle::Owned(Transaction::begin_at(origin));
        }
        let transaction = match this.transaction {
            Handle::Owned(transaction) => transaction,
            Handle::Borrowed(transaction) => &mut **transaction,
            Handle::NotBegun(_) | Handle::Done => {
                panic!("a transaction's future was polled after it completed")
            }
        };
        // Polled inside another transaction's poll (a transaction awaited in one), the thread
        // is past that one's boundary already: waiting here could make the outer transaction,
        // which the update may wait for, wait for the update.
        if !crate::transaction::in_transaction() && transaction.waits_at_boundary(cx.waker()) {
            return Poll::Pending;
        }
        let future = this.future;
        let polled = transaction.attach(true, || future.poll(cx));
        if polled.is_ready() {
            // An owned transaction ends here; a borrowed one goes on.
            *this.transaction = Handle::Done;
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{mpsc, Arc};
    use std::task::{Wake, Waker};
    use std::thread;
    use std::time::Duration;

    use super::*;
    use crate::gate::{self, tests::exclusive};
    use crate::protocol::effects_of;
    use crate::record::open_conflicting;
    use crate::transaction::note_call as note;

    /// Counts its wakes.
    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn waker() -> (Arc<Wakes>, Waker) {
        let wakes = Arc::new(Wakes::default());
        (wakes.clone(), Waker::from(wakes))
    }

    fn poll<F: Future>(future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
        future.poll(&mut Context::from_waker(waker))
    }

    /// Pending once, ready on the next poll.
    #[derive(Default)]
    struct Yield(bool);

    impl Future for Yield {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            if std::mem::replace(&mut self.0, true) {
                return Poll::Ready(());
            }
            Poll::Pending
        }
    }

    fn conflicts(ids: &[u32]) -> usize {
        open_conflicting(&effects_of(ids.iter().copied())).len()
    }

    #[test]
    fn effects_add_up_across_polls_and_threads_and_a_spawned_thread_has_none() {
        let _turn = exclusive();
        let (_, waker) = waker();
        let mut future = Box::pin(transaction_future(async {
            note(200);
            Yield::default().await;
            // Not in the transaction: another thread's code.
            thread::spawn(|| note(202)).join().unwrap();
            note(201);
        }));
        assert!(poll(future.as_mut(), &waker).is_pending());
        assert!(!crate::transaction::in_transaction(), "attached for the poll only");
        assert_eq!(conflicts(&[200]), 1, "open between polls, with its effects");
        let waker_there = waker.clone();
        let polled = thread::spawn(move || poll(future.as_mut(), &waker_there).is_ready());
        assert!(polled.join().unwrap());
        assert_eq!(conflicts(&[200, 201, 202]), 0, "ended when it completed");
    }

    #[test]
    fn a_transaction_that_called_what_an_update_changes_keeps_it_waiting_across_awaits() {
        let _turn = exclusive();
        let (_, waker) = waker();
        let mut future = Box::pin(transaction_future(async {
            note(210);
            Yield::default().await;
            note(211);
        }));
        assert!(poll(future.as_mut(), &waker).is_pending());
        assert_eq!(conflicts(&[211]), 0);
        assert_eq!(conflicts(&[210]), 1);
        let Err(gate::Refused::TimedOut { open, .. }) =
            gate::hold(effects_of([210]), Duration::from_millis(20), open_conflicting)
        else {
            panic!("the update waits for the transaction between its polls");
        };
        assert!(open[0].contains("async_transaction.rs"), "{open:?}");
        assert!(poll(future.as_mut(), &waker).is_ready());
        drop(future);
        let held = gate::hold(effects_of([210]), Duration::from_secs(5), open_conflicting);
        assert!(held.is_ok(), "nothing to wait for once it completed");
    }

    #[test]
    fn while_an_update_waits_a_new_transaction_is_pending_until_it_commits() {
        let _turn = exclusive();
        static RAN: AtomicBool = AtomicBool::new(false);
        RAN.store(false, Ordering::Relaxed);
        let held = gate::hold(effects_of([220]), Duration::from_secs(5), open_conflicting)
            .ok()
            .expect("nothing to wait for");
        let (wakes, waker) = waker();
        let mut future = Box::pin(transaction_future(async {
            RAN.store(true, Ordering::Relaxed);
            note(221);
        }));
        assert!(poll(future.as_mut(), &waker).is_pending(), "held at its boundary");
        assert!(poll(future.as_mut(), &waker).is_pending(), "still held");
        assert!(!RAN.load(Ordering::Relaxed), "its body has not run");
        assert_eq!(wakes.0.load(Ordering::Relaxed), 0);
        drop(held); // commits, opens the gate
        assert_eq!(wakes.0.load(Ordering::Relaxed), 1, "woken once when the update ended");
        assert!(poll(future.as_mut(), &waker).is_ready());
        assert!(RAN.load(Ordering::Relaxed));
    }

    #[test]
    fn a_transaction_bound_to_the_old_version_is_not_held_at_its_boundary() {
        let _turn = exclusive();
        let (_, waker) = waker();
        let mut future = Box::pin(transaction_future(async {
            note(230);
            Yield::default().await;
            note(231);
        }));
        assert!(poll(future.as_mut(), &waker).is_pending());
        let updater = thread::spawn(|| {
            gate::hold(effects_of([230, 231]), Duration::from_secs(30), open_conflicting)
                .ok()
                .map(drop)
        });
        while !gate::gate().pending.holds_at_boundary(&crate::protocol::Footprint::new()) {
            thread::yield_now();
        }
        assert!(poll(future.as_mut(), &waker).is_ready(), "it goes on in the old version");
        updater.join().unwrap().expect("the update commits after it");
    }

    #[test]
    fn inside_a_poll_a_transaction_binds_itself_to_the_old_version_rather_than_wait() {
        let _turn = exclusive();
        let (_, waker) = waker();
        // A transaction the update waits for, so that it has not decided to commit.
        let (end_first, first_ends) = mpsc::channel::<()>();
        let (first_open, is_first_open) = mpsc::channel();
        let first = thread::spawn(move || {
            crate::transaction::transaction(|| {
                note(240);
                first_open.send(()).unwrap();
                first_ends.recv().unwrap();
            })
        });
        is_first_open.recv().unwrap();
        let (in_poll, is_in_poll) = mpsc::channel();
        let (closed, is_closed) = mpsc::channel::<()>();
        let mut future = Box::pin(transaction_future(async move {
            in_poll.send(()).unwrap();
            is_closed.recv().unwrap(); // the update closes the gate during this poll
            note(241); // meets the waiting update, and does not wait for it
            Yield::default().await;
        }));
        let polling = thread::spawn(move || {
            let pending = poll(future.as_mut(), &waker).is_pending();
            (pending, future, waker)
        });
        is_in_poll.recv().unwrap();
        // Gives up after a while: what is open then is what it waited for at the end.
        let updater = thread::spawn(|| {
            match gate::hold(effects_of([240, 241]), Duration::from_secs(2), open_conflicting) {
                Err(gate::Refused::TimedOut { open, .. }) => open,
                _ => panic!("the update waits for the bound transaction"),
            }
        });
        while !gate::gate().pending.holds_at_boundary(&crate::protocol::Footprint::new()) {
            thread::yield_now();
        }
        closed.send(()).unwrap();
        let (pending, mut future, waker) = polling.join().unwrap();
        assert!(pending, "the poll went on past the changed item's call");
        assert!(!updater.is_finished(), "the update waits");
        assert_eq!(conflicts(&[241]), 1, "bound to the old version: the update waits for it");
        end_first.send(()).unwrap();
        first.join().unwrap();
        // The bound one stays open past the update's timeout: it is what the update waits for.
        let open = updater.join().unwrap();
        assert_eq!(open.len(), 1, "{open:?}");
        assert!(open[0].contains("async_transaction.rs"), "{open:?}");
        assert!(poll(future.as_mut(), &waker).is_ready(), "it goes on once the gate opened");
    }

    #[test]
    fn inside_a_poll_after_the_update_decided_a_call_waits_for_the_commit_only() {
        let _turn = exclusive();
        static COMMITTED: AtomicBool = AtomicBool::new(false);
        COMMITTED.store(false, Ordering::Relaxed);
        let (_, waker) = waker();
        let (in_poll, is_in_poll) = mpsc::channel();
        let (decided, is_decided) = mpsc::channel::<()>();
        let mut future = Box::pin(transaction_future(async move {
            in_poll.send(()).unwrap();
            is_decided.recv().unwrap();
            note(250); // the update found nothing to wait for: this waits for its commit
            COMMITTED.load(Ordering::Relaxed)
        }));
        let polling = thread::spawn(move || poll(future.as_mut(), &waker));
        is_in_poll.recv().unwrap();
        let held = gate::hold(effects_of([250]), Duration::from_secs(5), open_conflicting)
            .ok()
            .expect("nothing to wait for");
        decided.send(()).unwrap();
        thread::sleep(Duration::from_millis(10));
        assert!(!polling.is_finished(), "held until the commit");
        COMMITTED.store(true, Ordering::Relaxed);
        drop(held);
        assert_eq!(polling.join().unwrap(), Poll::Ready(true), "the call ran after the commit");
    }

    #[test]
    fn a_transaction_awaited_inside_another_is_not_held_at_its_boundary() {
        let _turn = exclusive();
        let (_, waker) = waker();
        let (in_poll, is_in_poll) = mpsc::channel();
        let (closed, is_closed) = mpsc::channel::<()>();
        let mut outer = Box::pin(transaction_future(async move {
            note(260);
            in_poll.send(()).unwrap();
            is_closed.recv().unwrap();
            // Inside the outer one's poll: part of it, not held at a boundary of its own.
            transaction_future(async { note(261) }).await;
        }));
        let polling = thread::spawn(move || poll(outer.as_mut(), &waker).is_ready());
        is_in_poll.recv().unwrap();
        let updater = thread::spawn(|| {
            gate::hold(effects_of([260]), Duration::from_secs(30), open_conflicting).is_ok()
        });
        while !gate::gate().pending.holds_at_boundary(&crate::protocol::Footprint::new()) {
            thread::yield_now();
        }
        closed.send(()).unwrap();
        assert!(polling.join().unwrap(), "the inner transaction ran in the outer's poll");
        assert!(updater.join().unwrap());
    }

    #[test]
    fn a_handed_transaction_runs_a_future_and_goes_on() {
        let _turn = exclusive();
        let (_, waker) = waker();
        let mut transaction = Transaction::begin();
        {
            let mut future = Box::pin(transaction.run_future(async { note(270) }));
            assert!(poll(future.as_mut(), &waker).is_ready());
        }
        assert_eq!(conflicts(&[270]), 1, "still open after the future");
        drop(transaction);
        assert_eq!(conflicts(&[270]), 0);
    }
}
