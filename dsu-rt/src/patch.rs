//! The patch side: the manifest a patch exports and the attach step that connects the patch's
//! copy of the runtime to the running program's.
//!
//! A patch links its own copy of this crate, with statics of its own. Once attached, its
//! public functions (`update`, `rollback`, `status`) act through the program's runtime, so
//! that patch code, an admin handler replaced by an update for instance, sees the one
//! registry of the process.

use abi_stable::library::{CheckTypeLayout, LibHeader, RootModuleResult};
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::std_types::{RSlice, RStr};
use dsu_abi::{AttachReply, HostContext, PatchManifest, PatchManifestRef};

use crate::slices::{GLOBALS, ITEMS};

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

/// Builds this image's manifest. Called by the root module loader `dsu::patch!()` exports.
#[doc(hidden)]
pub fn manifest(crate_name: &'static str, crate_version: &'static str) -> PatchManifestRef {
    PatchManifest {
        crate_name: RStr::from_str(crate_name),
        crate_version: RStr::from_str(crate_version),
        build: crate::build_info::this_build(),
        items: RSlice::from_slice(&ITEMS),
        globals: RSlice::from_slice(&GLOBALS),
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

/// Makes the crate a dsu program and its cdylib a patch: exports the manifest and records
/// the crate's name and version. Write it once, at the root of the library crate.
///
/// It names the running program in the version chain, and lets an update check that a patch
/// is a build of the same crate:
///
/// ```
/// dsu::patch!();
///
/// fn main() {
///     let program = &dsu::status().versions[0];
///     assert_eq!(program.label, concat!(env!("CARGO_PKG_NAME"), "@", env!("CARGO_PKG_VERSION")));
/// }
/// ```
#[macro_export]
macro_rules! patch {
    () => {
        #[doc(hidden)]
        #[unsafe(export_name = "_1as_0lib_1header_0root_bmodule_bloader")]
        pub static __DSU_PATCH_HEADER: $crate::__private::LibHeader = {
            fn manifest() -> $crate::__private::PatchManifestRef {
                $crate::__private::manifest(
                    ::core::env!("CARGO_PKG_NAME"),
                    ::core::env!("CARGO_PKG_VERSION"),
                )
            }
            extern "C" fn root_module() -> $crate::__private::RootModuleResult {
                $crate::__private::call_root_module_loader(manifest)
            }
            $crate::__private::header(root_module)
        };

        // The sections are `lock::LOCK_SECTION` and `lock::PATHS_SECTION`.
        $crate::__private::lock_record!(__DSU_LOCK in ".dsu.lock", __DSU_PATHS in ".dsu.paths");

        #[$crate::__private::linkme::distributed_slice($crate::__private::PROGRAMS)]
        #[linkme(crate = $crate::__private::linkme)]
        static __DSU_PROGRAM: $crate::__private::ProgramInfo = $crate::__private::ProgramInfo {
            name: ::core::env!("CARGO_PKG_NAME"),
            version: ::core::env!("CARGO_PKG_VERSION"),
            crate_name: ::core::env!("CARGO_CRATE_NAME"),
            lock: &__DSU_LOCK,
            path_crates: &__DSU_PATHS,
            panic: if ::core::cfg!(panic = "unwind") { "unwind" } else { "abort" },
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
