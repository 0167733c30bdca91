//! `update`, `check`, `rollback`, `inspect` and `status`: the runtime's public entry points. In the program they
//! run here; in a patch they act on the running program, through the host context.

use std::path::Path;

use crate::context;
use crate::error::UpdateError;
use crate::host::{self, Check, Inspect, Rollback, StatusOp, Update};
use crate::inspect::{self, PatchInfo};
use crate::registry;
use crate::report::{Status, UpdateReport};
use crate::update::{self, UpdateOptions};

/// Loads the patch at `path` and switches the program to it.
///
/// Returns what changed and how long the switch took, or why the patch was refused; then
/// nothing in the program changed. Updates from several threads run one after another (one
/// that waits longer than its timeout for another is refused with [`UpdateError::Busy`]);
/// calls go on running on every thread meanwhile, each in exactly one version's code. Called
/// by code an update runs (a transformer), it is refused with [`UpdateError::InsideUpdate`].
///
/// The switch happens when no open transaction has called an item the update changes; the
/// update waits for such transactions for up to a second (see [`update_with`]). Called inside
/// a transaction it is refused: it could wait for itself.
///
/// Called from a patch's code, it acts on the running program (the one registry).
///
/// ```
/// // From an admin endpoint: here the patch is not there, and nothing changes.
/// match dsu::update("/srv/patches/v2.so") {
///     Ok(report) => println!("{report}"),
///     Err(error) => {
///         assert_eq!(error.kind(), "unreadable");
///         eprintln!("refused, nothing changed: {error}");
///     }
/// }
/// assert_eq!(dsu::status().versions.len(), 1, "the program as it started");
/// ```
pub fn update(path: impl AsRef<Path>) -> Result<UpdateReport, UpdateError> {
    update_with(path, &UpdateOptions::default())
}

/// [`update`], waiting for conflicting transactions as `options` says.
///
/// ```
/// use std::time::Duration;
///
/// let options = dsu::UpdateOptions::default().timeout(Duration::from_millis(200));
/// let refused = dsu::update_with("/srv/patches/v2.so", &options);
/// assert!(matches!(refused, Err(dsu::UpdateError::Unreadable { .. })));
/// ```
pub fn update_with(
    path: impl AsRef<Path>,
    options: &UpdateOptions,
) -> Result<UpdateReport, UpdateError> {
    let path = path.as_ref();
    match context::host() {
        Some(context) => context::call::<Update>(context, &(path.to_owned(), options.clone()))
            .expect("the running program's updater panicked"),
        None => update::update_here(path, options, host::context()),
    }
}

/// What [`update`] of the patch at `path` would do, and nothing switched: a dry run.
///
/// It makes every check an update makes, in the same order (signature, manifest, release,
/// libraries, copies, the plan, what the changes of plain code reach, the crossing types,
/// conversions), and returns the report the update would give: what it would switch (`replaced`,
/// and in `reached` why an item whose own code is the same is among them), add, leave unchanged
/// and remove, the globals it would convert (no values made yet), the changes that would stay
/// old and the plain state it would fork (refused unless the options accept them, as by the
/// update), and in `waited_for` the open transactions that have called what it changes, which
/// an update now would wait for. Its `version` is the version the update would make; the
/// timings of a switch are zero.
///
/// Like an update, it loads the patch (the dynamic loader runs the library's constructors;
/// with trusted keys only a signed patch gets that far, and the high-water mark is raised to
/// its sequence number as by an update) and keeps it loaded: an update of the same bytes that
/// follows uses that image, so the update commits what the check saw. Refusals are those of
/// the update, with the same errors.
///
/// ```
/// // Here the patch is not there, and nothing changes.
/// let refused = dsu::check("/srv/patches/v2.so");
/// assert!(matches!(refused, Err(dsu::UpdateError::Unreadable { .. })));
/// ```
pub fn check(path: impl AsRef<Path>) -> Result<UpdateReport, UpdateError> {
    check_with(path, &UpdateOptions::default())
}

/// [`check`], with what `options` accept and where the signature is.
pub fn check_with(
    path: impl AsRef<Path>,
    options: &UpdateOptions,
) -> Result<UpdateReport, UpdateError> {
    let path = path.as_ref();
    match context::host() {
        Some(context) => context::call::<Check>(context, &(path.to_owned(), options.clone()))
            .expect("the running program's updater panicked"),
        None => update::check_here(path, options),
    }
}

/// Returns to the version before the last update, the same way an update commits.
///
/// ```
/// // The program as it started has nothing to go back to.
/// assert!(matches!(dsu::rollback(), Err(dsu::UpdateError::NothingToRollBack)));
/// ```
pub fn rollback() -> Result<UpdateReport, UpdateError> {
    rollback_with(&UpdateOptions::default())
}

/// [`rollback`], waiting for conflicting transactions as `options` says.
pub fn rollback_with(options: &UpdateOptions) -> Result<UpdateReport, UpdateError> {
    match context::host() {
        Some(context) => context::call::<Rollback>(context, options)
            .expect("the running program's updater panicked"),
        None => update::rollback_here(options),
    }
}

/// What the patch at `path` declares of itself, read from the file without loading it: none
/// of its code runs. Its crate and version, the release it declares (base and sequence), the
/// build it was made with and the libraries it needs.
///
/// When the program trusts signing keys ([`trust`](crate::trust)), the signature
/// (`<path>.minisig`) is checked first, as for an update, and a patch no trusted key signed is
/// refused. Nothing is compared with the running program: that a patch declares a release
/// does not mean the program would take it.
///
/// ```
/// // Here the file is not there.
/// let refused = dsu::inspect("/srv/patches/v2.so");
/// assert!(matches!(refused, Err(dsu::UpdateError::Unreadable { .. })));
/// ```
pub fn inspect(path: impl AsRef<Path>) -> Result<PatchInfo, UpdateError> {
    inspect_with(path, &UpdateOptions::default())
}

/// [`inspect`], with the signature where `options` says.
pub fn inspect_with(
    path: impl AsRef<Path>,
    options: &UpdateOptions,
) -> Result<PatchInfo, UpdateError> {
    let path = path.as_ref();
    match context::host() {
        Some(context) => context::call::<Inspect>(context, &(path.to_owned(), options.clone()))
            .expect("the running program's updater panicked"),
        None => inspect::inspect_here(path, options),
    }
}

/// What the program runs now: the version chain, and each item with the version its code
/// comes from.
///
/// It never waits for an update: while one is under way, it answers what runs until that
/// update commits. So a transaction may report the status (a server's `INFO` command) even
/// when the update is waiting for that very transaction.
///
/// ```
/// #[dsu::updateable]
/// fn greet(name: &str) -> String {
///     format!("hello, {name}")
/// }
///
/// let status = dsu::status();
/// let greet = status.items.iter().find(|i| i.item.path.ends_with("::greet")).unwrap();
/// assert_eq!(greet.version, 0, "the program's own code runs");
/// println!("{status}");
/// ```
pub fn status() -> Status {
    match context::host() {
        Some(context) => context::call::<StatusOp>(context, &())
            .expect("the running program's registry panicked"),
        None => registry::status_now(),
    }
}
