//! The conversion step of an update: the new instances of the globals whose type changes,
//! made by the patch's transformers from the live ones, while the gate holds every transaction
//! that could reach them.
//!
//! A transformer is patch code, and may read other globals through the patch's cells: one the
//! update converts too, or one it shares. Each is made when a transformer first reads it, so
//! that what a transformer reads is the live value (converted first if this update converts
//! it), whatever order the patch declares the globals in. A transformer that reads a global
//! whose conversion is under way (its own, or one that reads it back) fails, and so does the
//! update. The running program reaches none of this: the patch's cells become
//! reachable at the commit.

use std::cell::{Cell, RefCell};
use std::ptr;
use std::time::{Duration, Instant};

use crate::cell::{DemandFn, GlobalCell, InstanceFn};
use crate::error::UpdateError;

/// A global that patch code may read during the conversion.
pub(crate) struct Global {
    pub(crate) path: &'static str,
    /// The patch's cell of it.
    pub(crate) cell: &'static GlobalCell,
    /// The live instance, of the running type: made by its initialiser if nothing made it yet.
    pub(crate) live: InstanceFn,
    /// Makes the patch's instance from the live one, for a global the update converts; `None`
    /// for one it shares.
    pub(crate) transform: Option<unsafe extern "C" fn(*const (), *mut ())>,
}

/// A new instance the conversion made.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Made {
    pub(crate) instance: *const (),
    /// How many values of the program's types its transformers made.
    pub(crate) values: u64,
    /// How long it took, conversions its transformers asked for included.
    pub(crate) took: Duration,
}

#[derive(Clone, Copy)]
enum State {
    Waiting,
    Running,
    Made(*const ()),
    Failed,
}

/// A conversion under way on this thread.
struct Conversion<'a> {
    globals: &'a [Global],
    states: Vec<Cell<State>>,
    /// The first failure: the update's error.
    failure: RefCell<Option<UpdateError>>,
    /// What was made of each converted global.
    made: RefCell<Vec<Option<Made>>>,
}

thread_local! {
    /// The conversion the updater runs on this thread, while it runs. In the program's copy of
    /// the runtime: `demand`, which patch code calls, is the program's.
    static UNDER_WAY: Cell<*const Conversion<'static>> = const { Cell::new(ptr::null()) };
}

/// Makes the patch's instance of every global in `globals` that has a transformer, in order,
/// and of every other one a transformer reads. Returns those of the converted globals, in the
/// order of `globals`, or the first failure. Runs on the updater's thread, with the gate held.
pub(crate) fn run(globals: &[Global]) -> Result<Vec<Made>, UpdateError> {
    let conversion = Conversion {
        globals,
        states: globals.iter().map(|_| Cell::new(State::Waiting)).collect(),
        made: RefCell::new(vec![None; globals.len()]),
        failure: RefCell::new(None),
    };
    struct Ending<'a>(&'a [Global]);
    impl Drop for Ending<'_> {
        fn drop(&mut self) {
            UNDER_WAY.with(|under_way| under_way.set(ptr::null()));
            for global in self.0 {
                global.cell.set_demand(None);
            }
        }
    }
    let _ending = Ending(globals);
    UNDER_WAY.with(|under_way| {
        under_way.set((&conversion as *const Conversion<'_>).cast::<Conversion<'static>>())
    });
    for global in globals {
        global.cell.set_demand(Some(demand as DemandFn));
    }
    for (index, global) in globals.iter().enumerate() {
        if global.transform.is_some() && conversion.make(index).is_err() {
            break;
        }
    }
    if let Some(failure) = conversion.failure.into_inner() {
        return Err(failure);
    }
    let made = conversion.made.into_inner();
    Ok(globals
        .iter()
        .zip(made)
        .filter(|(global, _)| global.transform.is_some())
        .map(|(_, made)| made.expect("made, or the conversion failed"))
        .collect())
}

impl Conversion<'_> {
    /// The patch's instance of global `index`, made now if it was not yet.
    fn make(&self, index: usize) -> Result<*const (), String> {
        let global = &self.globals[index];
        let state = &self.states[index];
        match state.get() {
            State::Made(instance) => return Ok(instance),
            State::Running => {
                let message = format!(
                    "`{}` was read while its own conversion was under way: a transformer reads \
                     the global it converts, or two transformers read each other's globals",
                    global.path
                );
                return Err(self.fail(UpdateError::TransformFailed {
                    global: global.path.to_owned(),
                    message,
                }));
            }
            State::Failed => return Err(format!("`{}` could not be made", global.path)),
            State::Waiting => {}
        }
        state.set(State::Running);
        let started = Instant::now();
        let made = crate::cell::instance(global.live)
            .map_err(|message| UpdateError::InitialiserFailed {
                global: global.path.to_owned(),
                message,
            })
            .and_then(|live| match global.transform {
                None => Ok((live, 0)),
                Some(transform) => {
                    // SAFETY: the planner checked that the live instance's type has the
                    // fingerprint of the type the patch's transformer reads (`was`).
                    let made = unsafe { crate::instance::convert(transform, live) };
                    made.map_err(|message| UpdateError::TransformFailed {
                        global: global.path.to_owned(),
                        message,
                    })
                }
            });
        match made {
            Ok((instance, values)) => {
                let took = started.elapsed();
                self.made.borrow_mut()[index] = Some(Made { instance, values, took });
                state.set(State::Made(instance));
                global.cell.set_live(instance);
                Ok(instance)
            }
            Err(error) => {
                state.set(State::Failed);
                Err(self.fail(error))
            }
        }
    }

    /// Records `error` as the update's, unless an earlier failure (one that caused it: a
    /// transformer that read a global that could not be made) was recorded; returns its
    /// message, for the patch code that asked.
    fn fail(&self, error: UpdateError) -> String {
        let message = error.to_string();
        self.failure.borrow_mut().get_or_insert(error);
        message
    }
}

/// Where a patch's cell asks for its instance during a conversion (`GlobalCell::elsewhere`).
///
/// # Safety
///
/// `out` must point to a `Result<*const (), String>` to write.
unsafe extern "C" fn demand(cell: *const GlobalCell, out: *mut ()) {
    let made = std::panic::catch_unwind(|| {
        let conversion = UNDER_WAY.with(Cell::get);
        // SAFETY: `run` sets `UNDER_WAY` to a conversion that lives until it clears it, on
        // this thread; null otherwise.
        let Some(conversion) = (unsafe { conversion.as_ref() }) else {
            return Err("a global that an update is converting was read outside that update's \
                        conversion (on another thread)"
                .to_owned());
        };
        match conversion.globals.iter().position(|global| ptr::eq(global.cell, cell)) {
            Some(index) => conversion.make(index),
            None => Err("a global was read through a cell the conversion does not know".to_owned()),
        }
    });
    let result = made.unwrap_or_else(|_| Err("the conversion panicked".to_owned()));
    // SAFETY: `out` points to a `Result<*const (), String>` to write (the contract).
    unsafe { out.cast::<Result<*const (), String>>().write(result) };
}
