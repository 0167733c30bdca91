//! The program side of the host context: the context the program hands every patch it
//! attaches, and the dispatcher that serves what a patch's copy of the runtime asks of the
//! program's (`context.rs` has the calling side and the contract of both).

use std::path::PathBuf;
use std::sync::OnceLock;

use dsu_abi::{op, HostContext};

use crate::context::{serve, Op};
use crate::error::UpdateError;
use crate::inspect::{self, PatchInfo};
use crate::report::{Status, UpdateReport};
use crate::state::{Birth, Death, Move};
use crate::tls::ThreadState;
use crate::transaction::{FreeRecord, TakeRecord};
use crate::update::UpdateOptions;
use crate::{census, record, registry, tls, transaction, update};

/// The context handed to every patch this program attaches.
pub(crate) fn context() -> &'static HostContext {
    static CONTEXT: OnceLock<HostContext> = OnceLock::new();
    CONTEXT.get_or_init(|| HostContext {
        alloc: *crate::alloc::program_table(),
        call: dispatch,
        thread_state_offset: tls::program_offset().unwrap_or(0),
    })
}

/// Serves operation `op` of a patch: each id with the `serve::<O>` of its `Op`.
///
/// # Safety
///
/// `input` and `output` must be the pointers `context::call::<O>` passes, for the `O` whose
/// `ID` is `op`.
unsafe extern "C" fn dispatch(op: u32, input: *const (), output: *mut ()) {
    // A panic must not unwind into the patch through an `extern "C"` frame; the output stays
    // `None` and the patch's side reports it.
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: each arm serves the `Op` whose id it matches, with the pointers of the
        // `call` of that `Op` (this function's contract).
        unsafe {
            match op {
                Update::ID => serve::<Update>(input, output, |(path, options)| {
                    update::update_here(path, options, context())
                }),
                Check::ID => serve::<Check>(input, output, |(path, options)| {
                    update::check_here(path, options)
                }),
                Rollback::ID => serve::<Rollback>(input, output, update::rollback_here),
                Inspect::ID => serve::<Inspect>(input, output, |(path, options)| {
                    inspect::inspect_here(path, options)
                }),
                StatusOp::ID => serve::<StatusOp>(input, output, |()| registry::status_now()),
                ThreadState::ID => serve::<ThreadState>(input, output, |()| tls::native()),
                TakeRecord::ID => {
                    serve::<TakeRecord>(input, output, |()| transaction::take_record_here())
                }
                FreeRecord::ID => serve::<FreeRecord>(input, output, |&r| record::free(r)),
                // SAFETY (of `birth`): the patch's `State::new` passes an instance it just
                // made and owns no more.
                Birth::ID => serve::<Birth>(input, output, |&(kind, instance)| {
                    census::birth(kind, instance as *const ())
                }),
                Death::ID => serve::<Death>(input, output, |&(node, generation)| {
                    census::death(node, generation) as usize
                }),
                Move::ID => serve::<Move>(input, output, |&(node, generation)| {
                    census::moved(node, generation)
                }),
                _ => {}
            }
        }
    });
}

/// `dsu::update_with` from a patch's code.
pub(crate) struct Update;

// SAFETY: `UPDATE` is this operation's alone, and `dispatch` serves it with `serve::<Update>`.
unsafe impl Op for Update {
    const ID: u32 = op::UPDATE;
    type Input = (PathBuf, UpdateOptions);
    type Output = Result<UpdateReport, UpdateError>;
}

/// `dsu::check_with` from a patch's code.
pub(crate) struct Check;

// SAFETY: `CHECK` is this operation's alone, and `dispatch` serves it with `serve::<Check>`.
unsafe impl Op for Check {
    const ID: u32 = op::CHECK;
    type Input = (PathBuf, UpdateOptions);
    type Output = Result<UpdateReport, UpdateError>;
}

/// `dsu::rollback_with` from a patch's code.
pub(crate) struct Rollback;

// SAFETY: `ROLLBACK` is this operation's alone, and `dispatch` serves it with
// `serve::<Rollback>`.
unsafe impl Op for Rollback {
    const ID: u32 = op::ROLLBACK;
    type Input = UpdateOptions;
    type Output = Result<UpdateReport, UpdateError>;
}

/// `dsu::inspect_with` from a patch's code: the program's trusted keys check the signature.
pub(crate) struct Inspect;

// SAFETY: `INSPECT` is this operation's alone, and `dispatch` serves it with
// `serve::<Inspect>`.
unsafe impl Op for Inspect {
    const ID: u32 = op::INSPECT;
    type Input = (PathBuf, UpdateOptions);
    type Output = Result<PatchInfo, UpdateError>;
}

/// `dsu::status` from a patch's code.
pub(crate) struct StatusOp;

// SAFETY: `STATUS` is this operation's alone, and `dispatch` serves it with
// `serve::<StatusOp>`.
unsafe impl Op for StatusOp {
    const ID: u32 = op::STATUS;
    type Input = ();
    type Output = Status;
}
