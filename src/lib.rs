//! Update a running Rust program: new code from a freshly built cdylib, switched in without a
//! restart and never at a moment where that would be unsafe.
//!
//! ```
//! // lib.rs of the program; Cargo.toml says crate-type = ["rlib", "cdylib"]
//! dsu::patch!();
//!
//! #[dsu::updateable]
//! pub fn handle(request: &str) -> String {
//!     format!("v1 says {request}")
//! }
//!
//! fn main() {
//!     assert_eq!(handle("ping"), "v1 says ping");
//!
//!     // Later, from an admin endpoint, after `cargo build --lib` of the next version and a
//!     // copy of its lib<crate>.so. None was built here, so the update is refused with a typed
//!     // error that says what to do, and the program goes on as before.
//!     match dsu::update("patches/v2.so") {
//!         Ok(report) => println!("{report}"),
//!         Err(error) => {
//!             assert!(matches!(error, dsu::UpdateError::Unreadable { .. }));
//!             println!("refused, nothing changed: {error}");
//!         }
//!     }
//!     assert_eq!(handle("ping"), "v1 says ping");
//! }
//! ```
//!
//! See the README for the whole flow and `docs/limits.md` for what cannot be updated.

pub use dsu_macros::{base, fingerprint_of, transaction, transform, updateable, Fingerprint};
pub use dsu_rt::fingerprint;
pub use dsu_rt::{
    check, check_with, inspect, inspect_with, rollback, rollback_with, status, transaction,
    transaction_future, trust, update, update_with, BuildDifference, CellStatus, ConvertedCells,
    ConvertedGlobal, DependencyChange, Fingerprint, ForkedState, FuturesStatus, Global,
    GlobalStatus, ItemRef, ItemStatus, PatchInfo, Reached, SharedAllocator, State, Status,
    Transaction, TransactionFuture, Transform, Trust, TrustError, Unreached, UpdateError,
    UpdateOptions, UpdateReport, Updateable, VersionInfo,
};

/// Makes the crate a dsu program and its cdylib a patch. Write it once, at the root of the
/// library crate: `dsu::patch!();`.
#[cfg(not(feature = "disabled"))]
pub use dsu_rt::patch;

/// With the `disabled` feature nothing is exported: the program cannot be updated.
#[cfg(feature = "disabled")]
#[macro_export]
macro_rules! patch {
    ($($release:tt)*) => {};
}

#[doc(hidden)]
pub use dsu_rt::__private;
