//! The patch side: the manifest a patch exports and the attach step that connects the patch's
//! copy of the runtime to the running program's.
//!
//! A patch links its own copy of this crate, with statics of its own. Once attached, its
//! public functions (`update`, `rollback`, `status`) act through the program's runtime, so
//! that patch code, an admin handler replaced by an update for instance, sees the one
//! registry of the process.

use abi_stable::library::{CheckTypeLayout, LibHeader, RootModuleResult};
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::std_types::RSlice;
use dsu_abi::{AttachReply, HostContext, PatchManifest, PatchManifestRef};

use crate::slices::{GLOBALS, ITEMS, TYPES};

extern "C" fn attach(context: &HostContext) -> AttachReply {
    // SAFETY: the program passes a context that lives in one of its statics, so it outlives
    // this image.
    let context: &'static HostContext = unsafe { &*(context as *const HostContext) };
    match std::panic::catch_unwind(|| {
        crate::alloc::forward_to(&context.alloc);
        crate::tls::attach(Some(context.thread_state_offset).filter(|&offset| offset != 0));
        crate::context::attach(context);
        crate::alloc::forwards()
    }) {
        Ok(forwards_allocations) => AttachReply { attached: true, forwards_allocations },
        // Unwinding out of an `extern "C"` function would abort the program.
        Err(_) => AttachReply { attached: false, forwards_allocations: false },
    }
}

/// Builds this image's manifest, with its manifest section. Called by the root module loader
/// `dsu::patch!()` exports.
#[doc(hidden)]
pub fn manifest(section: &'static [u8]) -> PatchManifestRef {
    PatchManifest {
        manifest_section: RSlice::from_slice(section),
        items: RSlice::from_slice(&ITEMS),
        globals: RSlice::from_slice(&GLOBALS),
        types: RSlice::from_slice(&TYPES),
        attach,
    }
    .leak_into_prefix()
}

/// The root module header `dsu::patch!()` exports.
#[doc(hidden)]
pub const fn header(constructor: extern "C" fn() -> RootModuleResult) -> LibHeader {
    // SAFETY: `constructor` is the function `dsu::patch!()` writes, which returns the result of
    // `__call_root_module_loader(f)` for an `f` that returns a `PatchManifestRef`.
    unsafe { LibHeader::from_constructor::<PatchManifestRef>(constructor, CheckTypeLayout::Yes) }
}

/// Makes the crate a dsu program and its cdylib a patch. Write it once, at the root of the
/// library crate.
///
/// It writes the manifest section that the updater reads from a patch's file before loading
/// it (the crate's name and version, how it was built, and the release it declares, see
/// `docs/design.md`), and exports the manifest the patch's code builds. It names the running
/// program in the version chain, and lets an update check that a patch is a build of the same
/// crate:
///
/// ```
/// dsu::patch!();
///
/// fn main() {
///     let program = &dsu::status().versions[0];
///     assert_eq!(program.label, concat!(env!("CARGO_PKG_NAME"), "@", env!("CARGO_PKG_VERSION")));
/// }
/// ```
///
/// A release can also declare where it stands in the program's history, so that an old patch
/// cannot be replayed nor one applied out of order:
///
/// - `sequence = N`, a `u64` above every earlier release's. A patch is refused unless its
///   number is above the running release's, and no lower than the highest the program has
///   ever run (kept across restarts in the file `dsu::Trust::high_water_mark` names).
/// - `base = "VERSION"`, the crate version of the release it is built on. A patch is refused
///   unless the program runs that version.
///
/// ```
/// // Release 1.3.0, which updates a program running 1.2.0.
/// dsu::patch!(sequence = 4, base = "1.2.0");
///
/// fn main() {
///     assert_eq!(dsu::status().versions[0].sequence, 4);
/// }
/// ```
///
/// A program that trusts signing keys (`dsu::trust`) refuses a patch that declares neither.
#[macro_export]
macro_rules! patch {
    () => {
        $crate::patch!(@release "", 0);
    };
    (sequence = $sequence:expr $(,)?) => {
        $crate::patch!(@release "", $sequence);
    };
    (base = $base:literal $(,)?) => {
        $crate::patch!(@release $base, 0);
    };
    (sequence = $sequence:expr, base = $base:literal $(,)?) => {
        $crate::patch!(@release $base, $sequence);
    };
    (base = $base:literal, sequence = $sequence:expr $(,)?) => {
        $crate::patch!(@release $base, $sequence);
    };
    (@release $base:literal, $sequence:expr) => {
        #[doc(hidden)]
        #[unsafe(export_name = "_1as_0lib_1header_0root_bmodule_bloader")]
        pub static __DSU_PATCH_HEADER: $crate::__private::LibHeader = {
            fn manifest() -> $crate::__private::PatchManifestRef {
                $crate::__private::manifest(&__DSU_MANIFEST)
            }
            extern "C" fn root_module() -> $crate::__private::RootModuleResult {
                $crate::__private::call_root_module_loader(manifest)
            }
            $crate::__private::header(root_module)
        };

        #[doc(hidden)]
        const __DSU_DECLARED: $crate::__private::Declared = $crate::__private::Declared {
            name: ::core::env!("CARGO_PKG_NAME"),
            version: ::core::env!("CARGO_PKG_VERSION"),
            crate_name: ::core::env!("CARGO_CRATE_NAME"),
            panic: if ::core::cfg!(panic = "unwind") { "unwind" } else { "abort" },
            base: $base,
            sequence: $sequence,
        };

        // SAFETY (of `link_section`): `.dsu.manifest` is dsu's own section, plain bytes that no
        // linker or loader gives a meaning to.
        /// The manifest section, which the updater reads from the file before loading it.
        #[doc(hidden)]
        #[used]
        #[unsafe(link_section = ".dsu.manifest")]
        static __DSU_MANIFEST: [u8; $crate::__private::encoded_len(&__DSU_DECLARED)] =
            $crate::__private::encode(&__DSU_DECLARED);

        // The sections are `lock::LOCK_SECTION` and `lock::PATHS_SECTION`.
        $crate::__private::lock_record!(__DSU_LOCK in ".dsu.lock", __DSU_PATHS in ".dsu.paths");

        // The section is `reach::GRAPH_SECTION`.
        $crate::__private::crate_graph!(__DSU_GRAPH in ".dsu.graph");

        #[$crate::__private::linkme::distributed_slice($crate::__private::PROGRAMS)]
        #[linkme(crate = $crate::__private::linkme)]
        static __DSU_PROGRAM: $crate::__private::ProgramInfo = $crate::__private::ProgramInfo {
            manifest: &__DSU_MANIFEST,
            lock: &__DSU_LOCK,
            path_crates: &__DSU_PATHS,
            graph: &__DSU_GRAPH,
        };
    };
}

#[cfg(test)]
mod tests {
    /// `dsu::patch!()` exports its header under this literal name.
    #[test]
    fn patch_macro_exports_under_abi_stables_symbol() {
        assert_eq!(
            "_1as_0lib_1header_0root_bmodule_bloader",
            abi_stable::library::ROOT_MODULE_LOADER_NAME
        );
    }
}
