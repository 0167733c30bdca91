//! The typed boundary to the host context: how a patch's copy of the runtime asks the running
//! program's runtime to do something, and how the program serves it.
//!
//! [`HostContext::call`] is one untyped entry point, `call(op, input, output)`. Each operation
//! is a type that implements [`Op`], declared next to the code it runs, which names its id and
//! the types of its input and output. A patch asks with [`call`] and the program's dispatcher
//! (`host.rs`) answers with [`serve`]: the only two places that cast the pointers, both here.

use std::sync::atomic::{AtomicPtr, Ordering};

use dsu_abi::HostContext;

/// One operation of the host context.
///
/// # Safety
///
/// `ID` is an id of `dsu_abi::op` that no other `Op` has, and the program's dispatcher serves
/// it with `serve::<Self>`: then `call::<Self>` and the dispatcher agree on the pointers' types.
pub(crate) unsafe trait Op {
    /// The operation's id, from `dsu_abi::op`.
    const ID: u32;
    /// What the operation reads, by reference.
    type Input: ?Sized;
    /// What the operation answers.
    type Output;
}

/// Set when this image is a patch attached to a running program.
static HOST: AtomicPtr<HostContext> = AtomicPtr::new(std::ptr::null_mut());

/// The running program's context, if this image is an attached patch.
pub(crate) fn host() -> Option<&'static HostContext> {
    // Acquire pairs with the Release in `attach`.
    let context = HOST.load(Ordering::Acquire);
    // SAFETY: `HOST` is null or was set by `attach` from a `&'static HostContext` of the
    // program, which is never unloaded.
    unsafe { context.as_ref() }
}

/// Makes this image, a patch, act through the program that made `context`.
pub(crate) fn attach(context: &'static HostContext) {
    // Release: see `host`.
    HOST.store((context as *const HostContext).cast_mut(), Ordering::Release);
}

/// Runs operation `O` in the program that made `context`: its answer, or `None` if the
/// program's side panicked.
pub(crate) fn call<O: Op>(context: &HostContext, input: &O::Input) -> Option<O::Output> {
    let mut output: Option<O::Output> = None;
    let input: *const &O::Input = &input;
    // SAFETY: the program's dispatcher serves `O::ID` with `serve::<O>` (`Op`'s contract), which
    // reads `input` as a `&O::Input` and writes `output`, an `Option<O::Output>`, and nothing
    // else. Both images build these types alike: the patch is attached only after its build
    // fingerprint (compiler, flags, `dsu` version and runtime layout) was found equal to the
    // program's. The dispatcher catches its own panics, so none unwinds through `call`.
    unsafe { (context.call)(O::ID, input.cast(), (&mut output as *mut Option<O::Output>).cast()) };
    output
}

/// The program's side of `call::<O>`: runs `run` on the input and writes its answer.
///
/// # Safety
///
/// `input` and `output` must be the pointers a `call::<O>` passed to the dispatcher.
pub(crate) unsafe fn serve<O: Op>(
    input: *const (),
    output: *mut (),
    run: impl FnOnce(&O::Input) -> O::Output,
) {
    // SAFETY: `call::<O>` passes a `*const &O::Input` and a `*mut Option<O::Output>` that live
    // until the dispatcher returns (the caller's contract).
    let (input, output) =
        unsafe { (*input.cast::<&O::Input>(), &mut *output.cast::<Option<O::Output>>()) };
    *output = Some(run(input));
}
