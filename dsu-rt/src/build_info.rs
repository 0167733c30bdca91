//! The build fingerprint of this image (see `dsu_abi::BuildFingerprint`).

use std::sync::OnceLock;

use abi_stable::std_types::RStr;
use dsu_abi::BuildFingerprint;

use crate::cell::{GlobalCell, SlotCell};
use crate::error::{BuildDifference, UpdateError};
use crate::record::Record;
use crate::report::{Status, UpdateReport};

/// How this image was built. Computed once; the strings live as long as the image.
pub(crate) fn this_build() -> BuildFingerprint {
    static LAYOUT: OnceLock<String> = OnceLock::new();
    let layout = LAYOUT.get_or_init(|| {
        /// `size/align` of `T`.
        fn of<T>() -> String {
            format!("{}/{}", size_of::<T>(), align_of::<T>())
        }
        // What the host context's operations exchange, and the cells and records every image
        // reaches in another's memory.
        format!(
            "outcome {}, status {}, slot cell {}, global cell {}, record {}",
            of::<Option<Result<UpdateReport, UpdateError>>>(),
            of::<Option<Status>>(),
            of::<SlotCell>(),
            of::<GlobalCell>(),
            of::<Record>(),
        )
    });
    BuildFingerprint {
        rustc: RStr::from_str(env!("DSU_BUILD_RUSTC")),
        target: RStr::from_str(env!("DSU_BUILD_TARGET")),
        panic: RStr::from_str(panic_strategy()),
        target_features: RStr::from_str(env!("DSU_BUILD_TARGET_FEATURES")),
        rustflags: RStr::from_str(env!("DSU_BUILD_RUSTFLAGS")),
        dsu: RStr::from_str(env!("CARGO_PKG_VERSION")),
        runtime_layout: RStr::from_str(layout),
    }
}

/// The panic strategy of the crate that is this image: the one that declared `dsu::patch!()`,
/// whose own flags decide it (a profile's `panic = "abort"` reaches every crate but build
/// scripts, and `cargo rustc -- -C panic=abort` only that crate); `dsu-rt`'s own where no crate
/// declared it.
fn panic_strategy() -> &'static str {
    let own = if cfg!(panic = "unwind") { "unwind" } else { "abort" };
    crate::slices::PROGRAMS.first().map_or(own, |program| program.panic)
}

/// Every field in which `patch` differs from `running`.
pub(crate) fn differences(
    running: &BuildFingerprint,
    patch: &BuildFingerprint,
) -> Vec<BuildDifference> {
    let fields: [(&'static str, RStr<'static>, RStr<'static>); 7] = [
        ("compiler", running.rustc, patch.rustc),
        ("target", running.target, patch.target),
        ("panic strategy", running.panic, patch.panic),
        ("target features", running.target_features, patch.target_features),
        ("rustflags", running.rustflags, patch.rustflags),
        ("dsu version", running.dsu, patch.dsu),
        ("runtime layout", running.runtime_layout, patch.runtime_layout),
    ];
    fields
        .into_iter()
        .filter(|(_, a, b)| a != b)
        .map(|(field, a, b)| BuildDifference {
            field,
            running: a.as_str().to_owned(),
            patch: b.as_str().to_owned(),
        })
        .collect()
}
