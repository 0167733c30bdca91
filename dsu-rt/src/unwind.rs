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
