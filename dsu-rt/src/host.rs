//! The program side of the host context: what a patch's copy of the runtime calls to act on
//! the program's runtime.

use std::path::Path;
use std::sync::OnceLock;

use dsu_abi::{op, HostContext};

use crate::error::UpdateError;
use crate::report::{Status, UpdateReport};
use crate::tls::Local;
use crate::transaction::{self, Record};
use crate::update::UpdateOptions;

/// What `update` and `rollback` write through the context.
pub(crate) type Outcome = Option<Result<UpdateReport, UpdateError>>;

/// The context handed to every patch this program attaches.
pub(crate) fn context() -> &'static HostContext {
    static CONTEXT: OnceLock<HostContext> = OnceLock::new();
    CONTEXT.get_or_init(|| HostContext {
        build: crate::build_info::this_build(),
        alloc: *crate::alloc::program_table(),
        call,
        thread_state_offset: crate::tls::program_offset().unwrap_or(0),
    })
}

/// # Safety
///
/// `input` and `output` must point to the values `dsu_abi::op` documents for `op`, of this
/// `dsu-rt`'s types: the patch passes its own, which have the same layout because its build
/// fingerprint (compiler, flags, dsu version, runtime layout) equals the program's.
unsafe extern "C" fn call(op: u32, input: *const (), output: *mut ()) {
    // A panic must not unwind into the patch through an `extern "C"` frame; the output stays
    // `None` and the patch's side reports it.
    let _ = std::panic::catch_unwind(|| match op {
        op::UPDATE => {
            // SAFETY: for UPDATE the patch passes `&(&Path, &UpdateOptions)` and
            // `&mut Outcome` (see above).
            let ((path, options), out) = unsafe {
                (*input.cast::<(&Path, &UpdateOptions)>(), &mut *output.cast::<Outcome>())
            };
            *out = Some(crate::update::update_here(path, options));
        }
        op::ROLLBACK => {
            // SAFETY: for ROLLBACK the patch passes `&UpdateOptions` and `&mut Outcome`.
            let (options, out) =
                unsafe { (&*input.cast::<UpdateOptions>(), &mut *output.cast::<Outcome>()) };
            *out = Some(crate::update::rollback_here(options));
        }
        op::STATUS => {
            // SAFETY: for STATUS the patch passes `&mut Option<Status>`.
            let out = unsafe { &mut *output.cast::<Option<Status>>() };
            *out = Some(crate::update::status_here());
        }
        op::LOCAL => {
            // SAFETY: for LOCAL the patch passes `&mut *const Local`.
            unsafe { *output.cast::<*const Local>() = crate::tls::native() };
        }
        op::TAKE_RECORD => {
            // SAFETY: for TAKE_RECORD the patch passes `&mut *const Record`.
            unsafe { *output.cast::<*const Record>() = transaction::take_record_here() };
        }
        op::FREE_RECORD => {
            // SAFETY: for FREE_RECORD the patch passes `&&'static Record`.
            transaction::free_record_here(unsafe { *input.cast::<&'static Record>() });
        }
        _ => {}
    });
}
