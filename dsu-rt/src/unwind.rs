//! Panics that cross from one image's code to another's.
//!
//! Each image has its own copy of std, and std's `catch_unwind` refuses a panic raised by
//! another copy: it aborts the process ("Rust cannot catch foreign exceptions"). Without a
//! bridge, a panic in a patch's request handler would take down a server whose threads catch
//! panics, and even one whose threads do not (a thread's outermost frame catches).
//!
//! So a call into another image goes through the callee's *bridge*: the bridge runs the
//! implementation under the callee's `catch_unwind` ([`catch`]) and returns a panic's payload
//! as a value, which the caller raises again with its own std ([`finish`]). The payload is a
//! `Box<dyn Any + Send>` made by the callee and dropped by the caller: the two images share one
//! heap (checked when a patch loads) and are never unloaded, so its vtable stays valid. Calls
//! within one image skip the bridge (see `Slot::foreign`).

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

/// What a bridge returns: the implementation's value, or the payload of its panic.
pub type Returned<R> = Result<R, Box<dyn Any + Send>>;

/// The callee's side: runs `implementation` under this image's `catch_unwind`.
#[inline(always)]
pub fn catch<R>(implementation: impl FnOnce() -> R) -> Returned<R> {
    // Unwind safety: the caller raises the panic again as soon as the bridge returns, so
    // nothing observes the interrupted state before the caller's own unwinding would have.
    panic::catch_unwind(AssertUnwindSafe(implementation))
}

/// The caller's side: the bridge's value, or its panic raised again in this image.
#[inline(always)]
pub(crate) fn finish<R>(returned: Returned<R>) -> R {
    match returned {
        Ok(value) => value,
        Err(payload) => resume(payload),
    }
}

/// The message of a panic's payload, for a report.
pub(crate) fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a payload that is not text".to_owned()
    }
}

std::thread_local! {
    /// How many `quietly` calls this thread is inside.
    static QUIET: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    /// Where the last panic `quietly` caught was raised.
    static RAISED_AT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Runs `work` for an update (a transformer, an initialiser): its panic comes back as its
/// message, with where it was raised, and is not printed, since the update reports it as its
/// error. Other panics, on other threads or on this one outside `work`, go to the hook the
/// program had when this image first ran this.
pub(crate) fn quietly<R>(work: impl FnOnce() -> R) -> Result<R, String> {
    static HOOKED: std::sync::Once = std::sync::Once::new();
    // `set_hook` panics on a thread that is panicking (a destructor that reaches a global for
    // the first time while unwinding): the hook is installed on a later call then.
    // Where a panic aborts, the hook's message is all the operator gets: it stays.
    let quiet = cfg!(panic = "unwind");
    if quiet && !std::thread::panicking() {
        HOOKED.call_once(install_quiet_hook);
    }
    // `try_with`: during the thread's teardown the thread-locals may be gone; the panic is
    // then printed, and still caught.
    let count = |by: i32| {
        let _ = QUIET.try_with(|q| q.set(q.get().wrapping_add_signed(by)));
    };
    if quiet {
        count(1);
    }
    let caught = panic::catch_unwind(AssertUnwindSafe(work));
    if quiet {
        count(-1);
    }
    caught.map_err(|payload| {
        let text = message(&*payload);
        // Dropping a payload can panic in its turn, which would abort in the `extern "C"`
        // functions that call this: it is leaked instead.
        std::mem::forget(payload);
        match RAISED_AT.try_with(|raised_at| raised_at.borrow_mut().take()).ok().flatten() {
            Some(at) => format!("{text} (at {at})"),
            None => text,
        }
    })
}

/// Wraps the panic hook the image has: a panic on a thread inside `quietly` is recorded, not
/// printed; every other goes to the hook as before.
fn install_quiet_hook() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if QUIET.try_with(std::cell::Cell::get).unwrap_or(0) == 0 {
            return previous(info);
        }
        let at = info.location().map(ToString::to_string);
        let _ = RAISED_AT.try_with(|raised_at| *raised_at.borrow_mut() = at);
    }));
}

/// What a stale bridge runs (`ItemDesc::stale`): the item `path` now runs code of another
/// signature, and the caller was compiled against the old one.
#[doc(hidden)]
#[cold]
#[inline(never)]
pub fn stale_call(path: &str) -> ! {
    panic!(
        "`{path}` was called with the signature it had before an update converted a type it \
         names: this code was compiled against the old type and cannot call the new code"
    )
}

#[cold]
#[inline(never)]
fn resume(payload: Box<dyn Any + Send>) -> ! {
    panic::resume_unwind(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_passes_through() {
        assert_eq!(finish(catch(|| 7)), 7);
    }

    #[test]
    fn a_panic_is_raised_again_with_its_payload() {
        let caught = panic::catch_unwind(|| finish(catch(|| -> u32 { panic!("inside") })));
        let payload = caught.expect_err("the panic comes through");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"inside"));
    }
}
