//! Why an update or a rollback was refused. In every case nothing in the program changed.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// One way in which a patch was built differently from the running program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildDifference {
    /// What differs: `compiler`, `target`, `panic strategy`, `target features`, `rustflags`,
    /// `dsu version` or `runtime layout`.
    pub field: &'static str,
    /// The running program's value.
    pub running: String,
    /// The patch's value.
    pub patch: String,
}

/// A dependency that the program shares with its patches, in another release in a patch's build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencyChange {
    /// The crate, as its symbols name it.
    pub krate: String,
    /// The release (or releases) the running program shares.
    pub running: String,
    /// The release (or releases) the patch was built against.
    pub patch: String,
}

/// An update or rollback that did not happen. The program runs exactly as before.
#[derive(Debug)]
#[non_exhaustive]
pub enum UpdateError {
    /// The patch file could not be read.
    Unreadable {
        /// The path given.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The file is not a shared library for this platform.
    NotASharedLibrary {
        /// The path given.
        path: PathBuf,
    },
    /// The dynamic loader refused the file.
    LoadFailed {
        /// The path given.
        path: PathBuf,
        /// What the loader said.
        reason: String,
    },
    /// The library has no dsu manifest section: it was not built from a crate with
    /// `dsu::patch!()`.
    NotAPatch {
        /// The path given.
        path: PathBuf,
    },
    /// The program trusts signing keys, and the patch has no signature.
    Unsigned {
        /// The path given.
        path: PathBuf,
        /// Where its signature was looked for.
        signature: PathBuf,
    },
    /// The program trusts signing keys, and the patch's signature is not by one of them, not of
    /// this file, or not a signature at all.
    BadSignature {
        /// The path given.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The program trusts signing keys, and the patch does not declare its release: without a
    /// sequence number and a base, a signed patch could be replayed, or applied out of order.
    UndeclaredRelease {
        /// The path given.
        path: PathBuf,
    },
    /// The high-water mark could not be raised to the patch's sequence number.
    HighWaterMark {
        /// The mark's file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The library's dsu manifest cannot be read, or the manifest its code builds is not the
    /// one its file declares: it is corrupt.
    BadManifest {
        /// The path given.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The patch was built on another release than the one the program runs: it would skip
    /// the releases in between, or go back over them.
    WrongBase {
        /// The path given.
        path: PathBuf,
        /// The version of the release the patch is built on.
        base: String,
        /// The version the program runs.
        running: String,
    },
    /// The patch's sequence number is not above that of every release the program has run: an
    /// old patch, replayed.
    StaleSequence {
        /// The path given.
        path: PathBuf,
        /// The patch's sequence number.
        sequence: u64,
        /// The highest sequence number the program has run, or the one it runs now.
        newest: u64,
    },
    /// The patch was built against a `dsu-abi` whose types do not match the program's.
    IncompatibleAbi {
        /// The path given.
        path: PathBuf,
        /// What the layout or version check found.
        reason: String,
    },
    /// The patch was built with another compiler, target or set of ABI-relevant flags.
    BuildMismatch {
        /// The path given.
        path: PathBuf,
        /// Each fact that differs.
        differences: Vec<BuildDifference>,
    },
    /// The patch was built from another crate than the running program.
    WrongProgram {
        /// The running program's crate.
        running: String,
        /// The patch's crate.
        patch: String,
    },
    /// This very file is already part of the running version chain.
    AlreadyApplied {
        /// The path given.
        path: PathBuf,
        /// The version it was applied as.
        version: String,
    },
    /// The patch describes an item with the running item's path and signature fingerprint but
    /// writes its signature otherwise (beyond lifetimes and paths): a type spelled another way
    /// (an alias spelled out or renamed), or a corrupt manifest.
    SignatureMismatch {
        /// The item.
        item: String,
        /// The running item's signature.
        running: String,
        /// The patch's.
        patch: String,
    },
    /// The patch's manifest lists the same item twice: it is corrupt.
    DuplicateItem {
        /// The item.
        item: String,
    },
    /// Two updateable items of the running program have the same path and signature, so a
    /// patch's item cannot be matched to one of them.
    AmbiguousItem {
        /// The path.
        item: String,
    },
    /// Memory allocated on one side would be freed by another allocator on the other side.
    AllocatorMismatch {
        /// The running program's allocator.
        running: String,
        /// The patch's allocator.
        patch: String,
    },
    /// The patch needs a library the running program has not loaded: no library it loaded
    /// has that name as its soname. Loading it would run its initialisers and, for a Rust
    /// library, give the patch copies of its own of what the program shares; for a name no
    /// loaded library answers to, the loader would search the directories the patch names.
    UnloadedLibrary {
        /// The path given.
        path: PathBuf,
        /// The library, as the patch's dynamic section names it.
        library: String,
    },
    /// The patch was built against other releases of dependencies the program shares.
    SharedDependencyChanged {
        /// The path given.
        path: PathBuf,
        /// Each dependency, with both releases.
        changes: Vec<DependencyChange>,
    },
    /// The patch uses the code of path dependencies that the program shares: their symbols keep
    /// their names when their code changes, so an edit to them would not reach the program.
    SharedPathDependency {
        /// The path given.
        path: PathBuf,
        /// The crates.
        crates: Vec<String>,
    },
    /// The patch imports symbols that nothing in the running program defines: it was built
    /// against another build of a dependency the program shares.
    UnresolvedSymbols {
        /// The path given.
        path: PathBuf,
        /// The crates of the missing symbols that are Rust's (empty when none is).
        crates: Vec<String>,
        /// How many symbols are missing.
        count: usize,
        /// The first few, demangled.
        symbols: Vec<String>,
    },
    /// The patch carries copies of its own of crates the running program has, with statics:
    /// its code would act on its own runtime, logger or lazy statics, not on the program's.
    CopiedDependencies {
        /// The path given.
        path: PathBuf,
        /// The crates, as their symbols name them.
        crates: Vec<String>,
    },
    /// What the patch needs from the process, or carries of its own, cannot be told from its
    /// file before it is loaded, so it is not loaded.
    Unverifiable {
        /// The path given.
        path: PathBuf,
        /// What cannot be told, and what to do.
        reason: String,
    },
    /// The patch's attach step panicked.
    AttachFailed {
        /// The path given.
        path: PathBuf,
    },
    /// `rollback` was called with no update to undo.
    NothingToRollBack,
    /// The patch converts a global from a type it is not in the running program: the
    /// transformer was written for another version.
    TransformerForAnotherVersion {
        /// The global.
        global: String,
        /// Its type in the running program.
        running: String,
        /// The type the patch converts from (`was = ..`).
        was: String,
    },
    /// A transformer panicked while converting a global's value.
    TransformFailed {
        /// The global.
        global: String,
        /// The panic's message.
        message: String,
    },
    /// The initialiser of a global that the update had to make panicked, now or at an earlier
    /// first use: the global was never made, and a transformer reads it or converts it.
    InitialiserFailed {
        /// The global.
        global: String,
        /// The panic's message.
        message: String,
    },
    /// An updateable type of the running program is another type in the patch, which has no
    /// conversion for it: the live state cells of the type cannot be handed to the patch's
    /// code.
    StateTypeChanged {
        /// The type's path.
        type_name: String,
    },
    /// The patch converts the cells of an updateable type from a type that is not the running
    /// version's (`was = ..`): the conversion was written for another version.
    StateConversionForAnotherVersion {
        /// The type's path.
        type_name: String,
        /// The type the patch converts from.
        was: String,
    },
    /// A transformer of the cells of an updateable type panicked: no cell changed.
    StateTransformFailed {
        /// The type's path.
        type_name: String,
        /// Which cell it was converting, from 1.
        cell: usize,
        /// How many cells of the type the update was converting.
        cells: usize,
        /// The panic's message.
        message: String,
    },
    /// The patch changes a global's type, or an updateable type, but removes an item, which
    /// would stay live with code compiled against the old type.
    StaleUser {
        /// The global (or the updateable type) whose type changes.
        global: String,
        /// The item the patch removes.
        item: String,
    },
    /// The update to undo converted globals to new types, and converting them back is not
    /// possible.
    IrreversibleUpdate {
        /// The globals, and the updateable types whose cells it converted, without a way back.
        globals: Vec<String>,
    },
    /// A global of the running program has another type in the patch: its live value cannot
    /// be handed to the patch's code.
    GlobalTypeChanged {
        /// The global.
        global: String,
        /// Its type in the running program.
        running: String,
        /// Its type in the patch.
        patch: String,
    },
    /// A global of the running program has a type of the same fingerprint in the patch, written
    /// otherwise: a corrupt descriptor, or a type spelled another way (an alias renamed).
    GlobalTypeMismatch {
        /// The global.
        global: String,
        /// Its type as the running program writes it.
        running: String,
        /// As the patch writes it.
        patch: String,
    },
    /// A signature or a global's type of the patch contains a type whose shape dsu cannot see:
    /// one of the program's own types without `#[derive(dsu::Fingerprint)]`, or one that a type
    /// of another crate holds where the source names it through an alias.
    Unfingerprinted {
        /// The item or global.
        item: String,
        /// The type, as the compiler names it.
        type_name: String,
    },
    /// Changed plain items that code no update switches still reaches (the program's binary, a
    /// closure that may have been stored, a trait impl std calls, a function whose address is
    /// taken), through other plain items: that code would go on running their old versions.
    Unreached {
        /// Each change, with the chain of plain callers that keeps it out of reach.
        changes: Vec<crate::report::Unreached>,
    },
    /// Code the update switches names plain state (a `static` with interior mutability, a
    /// `static mut`, a `thread_local!`) that the running program has too: the patch's code
    /// would use its own copy, from the initial value, and the running code the old one.
    ForkedState {
        /// Each static, with a switched item that names it.
        states: Vec<crate::report::ForkedState>,
    },
    /// The update cannot tell what the patch's changes reach: the running version or the patch
    /// has no crate graph (`dsu::patch!()` missing from the crate's root, or a build cargo did
    /// not run).
    Unanalysed {
        /// The patch file.
        path: PathBuf,
        /// Which side has no graph, and why.
        reason: String,
    },
    /// `update` or `rollback` was called inside a transaction, which it might have to wait
    /// for.
    InsideTransaction,
    /// The program is built with `panic = "abort"` and the update converts globals: a panic in
    /// a transformer could not be caught, and would end the process.
    AbortsOnPanic {
        /// The globals it would convert.
        globals: Vec<String>,
    },
    /// The kernel's `membarrier`, which worked when the process started, failed (a seccomp
    /// filter installed since would do it): without it the update cannot tell which items
    /// open transactions have called.
    BarrierFailed,
    /// The program was built with dsu's `disabled` feature: its updateable items were compiled
    /// into plain code, which no patch can replace.
    Disabled,
    /// `update` or `rollback` was called by code that an update or rollback runs (a
    /// transformer, an initialiser), which would wait for itself.
    InsideUpdate,
    /// Another update or rollback stayed under way for the whole timeout.
    Busy {
        /// How long this one waited.
        waited: Duration,
    },
    /// Transactions that had called items the update changes stayed open for the whole
    /// timeout.
    Timeout {
        /// How long the update waited.
        waited: Duration,
        /// Where the transactions still open began.
        transactions: Vec<String>,
    },
}

crate::fingerprint::dsu_types! { UpdateError, BuildDifference, DependencyChange, }

impl fmt::Display for UpdateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use UpdateError::*;
        match self {
            Unreadable { path, source } => write!(
                f,
                "cannot read patch {}: {source}; check the path and its permissions",
                path.display()
            ),
            NotASharedLibrary { path } => write!(
                f,
                "{} is not a shared library; give the lib<crate>.so that `cargo build --lib` \
                 writes for a crate with crate-type cdylib",
                path.display()
            ),
            LoadFailed { path, reason } => write!(
                f,
                "the dynamic loader refused {}: {reason}; rebuild the patch for this machine",
                path.display()
            ),
            NotAPatch { path } => write!(
                f,
                "{} is not a dsu patch: it has no dsu manifest section; add `dsu::patch!();` to \
                 the crate's lib.rs and build it as a cdylib",
                path.display()
            ),
            Unsigned { path, signature } => write!(
                f,
                "{} has no signature at {}, and the program takes only signed patches; sign it \
                 with a key the program trusts: `minisign -S -s <secret key> -m {}`",
                path.display(),
                signature.display(),
                path.display()
            ),
            BadSignature { path, reason } => write!(
                f,
                "{} is refused: {reason}; sign the patch as it was built, with a key the program \
                 trusts",
                path.display()
            ),
            UndeclaredRelease { path } => write!(
                f,
                "{} does not declare its release, and the program takes only signed patches \
                 that do; give the patch's `dsu::patch!()` its `sequence = N, base = \"VERSION\"` \
                 and rebuild it",
                path.display()
            ),
            HighWaterMark { path, source } => write!(
                f,
                "cannot raise the high-water mark in {}: {source}; make it writable by the \
                 program",
                path.display()
            ),
            BadManifest { path, reason } => write!(
                f,
                "the dsu manifest of {} is corrupt: {reason}; rebuild it with `cargo build --lib`",
                path.display()
            ),
            WrongBase { path, base, running } => write!(
                f,
                "{} is built on release {base}, but the program runs {running}; apply the \
                 releases from {running} up to {base} first, or give the patch built on {running}",
                path.display()
            ),
            StaleSequence { path, sequence, newest } => write!(
                f,
                "{} has sequence number {sequence}, but the program has already run sequence number \
                 {newest}: it is an old patch, not a newer release; give the newest release, \
                 whose sequence number is above {newest}",
                path.display()
            ),
            IncompatibleAbi { path, reason } => write!(
                f,
                "{} was built against an incompatible dsu-abi: {reason}; rebuild it with the \
                 dsu version of the running program",
                path.display()
            ),
            BuildMismatch { path, differences } => {
                write!(
                    f,
                    "{} was built differently from the running program; rebuild it with the \
                     same toolchain and flags:",
                    path.display()
                )?;
                for d in differences {
                    write!(f, "\n  {}: running `{}`, patch `{}`", d.field, d.running, d.patch)?;
                }
                Ok(())
            }
            WrongProgram { running, patch } => write!(
                f,
                "the patch is a build of `{patch}`, but the running program is `{running}`; \
                 give a patch built from `{running}`"
            ),
            AlreadyApplied { path, version } => write!(
                f,
                "{} is already applied (as version {version}); build a new version to update \
                 again, or roll back first",
                path.display()
            ),
            SignatureMismatch { item, running, patch } => write!(
                f,
                "the patch's `{item}` has the running signature `{running}` but is written \
                 `{patch}`: write it as the running program does (an alias spelled out or \
                 renamed counts, lifetimes and paths do not); if the patch's source says \
                 `{running}`, the patch is corrupt, rebuild it"
            ),
            DuplicateItem { item } => {
                write!(f, "the patch lists `{item}` twice; the patch is corrupt, rebuild it")
            }
            AmbiguousItem { item } => write!(
                f,
                "two updateable items or globals of the program are both `{item}` (declared \
                 inside function bodies, or an associated function marked alone), so the \
                 patch's cannot be matched to one; rename one of them, or mark its impl block"
            ),
            AllocatorMismatch { running, patch } => write!(
                f,
                "the running program allocates with {running} but the patch with {patch}; \
                 memory would be freed by the wrong allocator. Declare the program's \
                 allocator as `#[global_allocator] static A: dsu::SharedAllocator<..>` in the \
                 library crate, so that a patch forwards to it"
            ),
            UnloadedLibrary { path, library } if library.starts_with("libstd-") => write!(
                f,
                "{} needs the standard library {library}, which the running program has not \
                 loaded: it was built by another toolchain, or with `-C prefer-dynamic` for a \
                 program without it; rebuild it with the same toolchain and flags",
                path.display()
            ),
            UnloadedLibrary { path, library } => write!(
                f,
                "{} needs the library {library}, which the running program has not loaded (no \
                 library it loaded has that soname); a patch may only use the libraries the \
                 program started with: restart the program built with the new dependency, or \
                 build the patch without it",
                path.display()
            ),
            SharedDependencyChanged { path, changes } => {
                let changes: Vec<String> = changes
                    .iter()
                    .map(|c| format!("{} {} (the program shares {})", c.krate, c.patch, c.running))
                    .collect();
                write!(
                    f,
                    "{} was built against {}, which the running program shares with its \
                     patches in another release; a shared dependency changes only with a \
                     restart. Rebuild the patch with the program's Cargo.lock, or restart the \
                     program built with the new release",
                    path.display(),
                    changes.join(", ")
                )
            }
            SharedPathDependency { path, crates } => write!(
                f,
                "{} uses {} from the program's shared libraries, path packages (by name): their \
                 symbols keep their names when their code changes, so the running program's old \
                 code would run. Take them out of the shared crate, so that a patch carries them and \
                 updates their updateable items, and keep their state in updateable globals \
                 (docs/sharing.md)",
                path.display(),
                crates.join(", ")
            ),
            UnresolvedSymbols { path, crates, count, symbols } => {
                write!(
                    f,
                    "{} needs {count} symbol(s) that the running program does not have",
                    path.display()
                )?;
                if !crates.is_empty() {
                    write!(f, ", of the crate(s) {}", crates.join(", "))?;
                }
                write!(
                    f,
                    ": it was built against other builds of them than the program shares. \
                     Rebuild the patch with the program's Cargo.lock, features, profile and \
                     flags, or restart the program to change a shared dependency. Missing: {}",
                    symbols.join(", ")
                )
            }
            CopiedDependencies { path, crates } => write!(
                f,
                "{} carries its own copy of {}, which the running program has too: patch code \
                 would use the copy's statics and thread-locals (an async runtime's context, a \
                 logger, a lazy static), not the program's. Share them with the patch through \
                 the program's shared crate, as docs/sharing.md shows, and build the program and \
                 the patch that way",
                path.display(),
                crates.join(", ")
            ),
            Unverifiable { path, reason } => {
                write!(f, "{} cannot be checked before it is loaded: {reason}", path.display())
            }
            AttachFailed { path } => write!(
                f,
                "{} panicked while attaching to the running program; nothing was switched",
                path.display()
            ),
            NothingToRollBack => write!(f, "there is no update to roll back"),
            GlobalTypeChanged { global, running, patch } if running == patch => write!(
                f,
                "the global `{global}` is written `{running}` in the running program and in the \
                 patch, but a type it names (through an alias, or a field) is another type in \
                 the patch, and the patch has no transformer for it: declare it \
                 `#[dsu::updateable(was = ..)]` with the running type and write a \
                 `#[dsu::transform]` for each type that changed"
            ),
            GlobalTypeChanged { global, running, patch } => write!(
                f,
                "the global `{global}` is `{running}` in the running program but `{patch}` in \
                 the patch, and the patch has no transformer for it: declare it \
                 `#[dsu::updateable(was = {running})]` and write a `#[dsu::transform]` for each \
                 type that changed"
            ),
            Unfingerprinted { item, type_name } => write!(
                f,
                "`{item}` names the type `{type_name}`, whose shape dsu cannot see: add \
                 `#[derive(dsu::Fingerprint)]` to its definition, or, if a type of another crate \
                 holds it, write that type out where `{item}` names it through an alias"
            ),
            GlobalTypeMismatch { global, running, patch } => write!(
                f,
                "the patch's global `{global}` has the type of the running `{running}` but is \
                 written `{patch}`: write its type as the running program does; if the patch's \
                 source says `{running}`, the patch is corrupt, rebuild it"
            ),
            TransformerForAnotherVersion { global, running, was } => write!(
                f,
                "the patch converts the global `{global}` from `{was}`, but the running program \
                 has it as `{running}`: the transformer was written for another version; copy \
                 the running version's definitions into the patch"
            ),
            TransformFailed { global, message } => write!(
                f,
                "the transformer of the global `{global}` panicked: {message}; nothing changed, \
                 the running value is whole"
            ),
            InitialiserFailed { global, message } => write!(
                f,
                "the initialiser of the global `{global}` panicked: {message}; nothing changed. \
                 The global was never made, and this update reads it: fix what its initialiser \
                 needs, or leave it out of the patch's transformers"
            ),
            StateTypeChanged { type_name } => write!(
                f,
                "the updateable type `{type_name}` is another type in the patch, and the patch \
                 has no conversion for its state cells: declare it \
                 `#[dsu::updateable(was = ..)]` with the running version's type"
            ),
            StateConversionForAnotherVersion { type_name, was } => write!(
                f,
                "the patch converts the state cells of `{type_name}` from `{was}`, which is not \
                 the running version's type: the conversion was written for another version; \
                 name the running version's type in `was`"
            ),
            StateTransformFailed { type_name, cell, cells, message } => write!(
                f,
                "the transformer of `{type_name}` panicked on state cell {cell} of {cells}: \
                 {message}; nothing changed, every cell holds its running value"
            ),
            StaleUser { global, item } => write!(
                f,
                "the patch changes the type of `{global}` but removes `{item}`, \
                 which would keep running code compiled against the old type; keep `{item}` in \
                 the patch"
            ),
            IrreversibleUpdate { globals } => write!(
                f,
                "the last update converted {} to new types and cannot convert them back: its \
                 patch declares no `reversible` global or type with a transformer back; apply a \
                 new version instead",
                globals.join(", ")
            ),
            Unreached { changes } => {
                write!(
                    f,
                    "{} changed, but code no update switches would go on running the old \
                     version; nothing changed:",
                    changes.iter().map(|c| c.item.as_str()).collect::<Vec<_>>().join(", ")
                )?;
                for change in changes {
                    // The binary's own items cannot be updateable.
                    let plain: Vec<&str> = change
                        .chain
                        .iter()
                        .map(String::as_str)
                        .filter(|item| !item.starts_with('{'))
                        .collect();
                    write!(f, " {} ({}: {})", change.item, change.root, change.chain.join(" -> "))?;
                    match plain[..] {
                        [_] => write!(f, ", make it updateable;")?,
                        _ => write!(f, ", make one of {} updateable;", plain.join(", "))?,
                    }
                }
                write!(
                    f,
                    " or accept that these stay old with \
                     dsu::update_with and UpdateOptions::accept_unreached(true)"
                )
            }
            ForkedState { states } => write!(
                f,
                "the update switches code that names plain state the running program has ({}): \
                 the patch's code would have its own copy, from its initial value, while the \
                 running code goes on with the old one; nothing changed. Make each a \
                 #[dsu::updateable] static, whose value the update carries, or accept the fork \
                 with dsu::update_with and UpdateOptions::accept_forked_state(true)",
                states.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
            ),
            Unanalysed { path, reason } => write!(
                f,
                "{}: the update cannot tell what the patch's changes reach, because {reason}; \
                 nothing changed. Write dsu::patch!() at the root of the library crate and \
                 build both with cargo, or apply it unchecked with dsu::update_with and \
                 UpdateOptions::accept_unreached(true)",
                path.display()
            ),
            InsideTransaction => write!(
                f,
                "dsu::update and dsu::rollback cannot run inside a transaction, which they may \
                 have to wait for; call them outside any transaction (an admin handler that is \
                 not marked #[dsu::transaction])"
            ),
            AbortsOnPanic { globals } => write!(
                f,
                "the program is built with panic = \"abort\", so a panic in the transformers of \
                 {} (or in an initialiser they run) could not be caught and would end the \
                 process; nothing changed. Build with panic = \"unwind\", or accept the risk \
                 with dsu::update_with and UpdateOptions::accept_abort(true)",
                globals.join(", ")
            ),
            BarrierFailed => write!(
                f,
                "the kernel's membarrier, which dsu registered when the process started, failed, \
                 so the update cannot tell which items open transactions have called; nothing \
                 changed. Retry; if it keeps failing, allow the membarrier system call to the \
                 process again (a seccomp filter) or restart it"
            ),
            Disabled => write!(
                f,
                "this program was built with dsu's `disabled` feature, so nothing in it can be \
                 updated; build it without that feature to update it"
            ),
            InsideUpdate => write!(
                f,
                "dsu::update and dsu::rollback cannot run inside an update or rollback (from a \
                 transformer or an initialiser it runs), which would wait for itself; apply the \
                 next update after this one returns"
            ),
            Busy { waited } => write!(
                f,
                "another update or rollback was under way for all of {waited:?}; nothing \
                 changed. Retry when it has returned, or give a longer timeout with \
                 dsu::update_with"
            ),
            Timeout { waited, transactions } => {
                write!(
                    f,
                    "gave up after {waited:?}: {} open transaction(s) had called items the \
                     update changes; nothing changed. Retry, or give a longer timeout with \
                     dsu::update_with. Still open:",
                    transactions.len()
                )?;
                for transaction in transactions {
                    write!(f, "\n  {transaction}")?;
                }
                Ok(())
            }
        }
    }
}

impl UpdateError {
    /// A short, stable name of the error's kind, in snake case (`"timeout"`,
    /// `"build_mismatch"`, ...): for logs, metrics and machine-readable answers, where the
    /// message (`Display`) is for people and may be reworded.
    pub fn kind(&self) -> &'static str {
        match self {
            UpdateError::Unreadable { .. } => "unreadable",
            UpdateError::NotASharedLibrary { .. } => "not_a_shared_library",
            UpdateError::LoadFailed { .. } => "load_failed",
            UpdateError::NotAPatch { .. } => "not_a_patch",
            UpdateError::Unsigned { .. } => "unsigned",
            UpdateError::BadSignature { .. } => "bad_signature",
            UpdateError::UndeclaredRelease { .. } => "undeclared_release",
            UpdateError::HighWaterMark { .. } => "high_water_mark",
            UpdateError::BadManifest { .. } => "bad_manifest",
            UpdateError::WrongBase { .. } => "wrong_base",
            UpdateError::StaleSequence { .. } => "stale_sequence",
            UpdateError::IncompatibleAbi { .. } => "incompatible_abi",
            UpdateError::BuildMismatch { .. } => "build_mismatch",
            UpdateError::WrongProgram { .. } => "wrong_program",
            UpdateError::AlreadyApplied { .. } => "already_applied",
            UpdateError::SignatureMismatch { .. } => "signature_mismatch",
            UpdateError::DuplicateItem { .. } => "duplicate_item",
            UpdateError::AmbiguousItem { .. } => "ambiguous_item",
            UpdateError::AllocatorMismatch { .. } => "allocator_mismatch",
            UpdateError::UnloadedLibrary { .. } => "unloaded_library",
            UpdateError::SharedDependencyChanged { .. } => "shared_dependency_changed",
            UpdateError::SharedPathDependency { .. } => "shared_path_dependency",
            UpdateError::UnresolvedSymbols { .. } => "unresolved_symbols",
            UpdateError::CopiedDependencies { .. } => "copied_dependencies",
            UpdateError::Unverifiable { .. } => "unverifiable",
            UpdateError::AttachFailed { .. } => "attach_failed",
            UpdateError::NothingToRollBack => "nothing_to_roll_back",
            UpdateError::TransformerForAnotherVersion { .. } => "transformer_for_another_version",
            UpdateError::TransformFailed { .. } => "transform_failed",
            UpdateError::InitialiserFailed { .. } => "initialiser_failed",
            UpdateError::StaleUser { .. } => "stale_user",
            UpdateError::StateTypeChanged { .. } => "state_type_changed",
            UpdateError::StateConversionForAnotherVersion { .. } => {
                "state_conversion_for_another_version"
            }
            UpdateError::StateTransformFailed { .. } => "state_transform_failed",
            UpdateError::IrreversibleUpdate { .. } => "irreversible_update",
            UpdateError::GlobalTypeChanged { .. } => "global_type_changed",
            UpdateError::GlobalTypeMismatch { .. } => "global_type_mismatch",
            UpdateError::Unfingerprinted { .. } => "unfingerprinted",
            UpdateError::Unreached { .. } => "unreached",
            UpdateError::ForkedState { .. } => "forked_state",
            UpdateError::Unanalysed { .. } => "unanalysed",
            UpdateError::InsideTransaction => "inside_transaction",
            UpdateError::AbortsOnPanic { .. } => "aborts_on_panic",
            UpdateError::BarrierFailed => "barrier_failed",
            UpdateError::Disabled => "disabled",
            UpdateError::InsideUpdate => "inside_update",
            UpdateError::Busy { .. } => "busy",
            UpdateError::Timeout { .. } => "timeout",
        }
    }
}

impl std::error::Error for UpdateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            UpdateError::Unreadable { source, .. } | UpdateError::HighWaterMark { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }
}
