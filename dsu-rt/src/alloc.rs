//! One heap for the program and its patches.
//!
//! A patch links its own copy of std, and with it its own global allocator. With the default
//! allocator both copies call the one `malloc` of the process and a `String` made in a patch
//! can be freed by the program. With a custom `#[global_allocator]` each image would have a
//! heap of its own: [`SharedAllocator`] makes a patch forward to the program's allocator
//! instead, and the updater refuses a patch whose allocator would not be the program's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::any::TypeId;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::OnceLock;

use dsu_abi::AllocTable;

/// Set in a patch image when it is attached: where its allocations go.
static FORWARD: AtomicPtr<AllocTable> = AtomicPtr::new(std::ptr::null_mut());
/// Set the first time this image's `SharedAllocator` allocates.
static SHARED_IN_USE: AtomicBool = AtomicBool::new(false);
/// Whether that `SharedAllocator` wraps `std::alloc::System`.
static SHARED_WRAPS_SYSTEM: AtomicBool = AtomicBool::new(false);

/// A global allocator that a patch shares with the running program.
///
/// Declare it in the library crate, wrapping the allocator the program wants (here `System`,
/// for any `GlobalAlloc`):
///
/// ```
/// use std::alloc::System;
///
/// #[global_allocator]
/// static ALLOCATOR: dsu::SharedAllocator<System> = dsu::SharedAllocator::new(System);
///
/// fn main() {
///     // In the running program every allocation goes to the allocator it wraps.
///     let words: Vec<String> = "one heap for every image".split(' ').map(String::from).collect();
///     assert_eq!(words.len(), 5);
/// }
/// ```
///
/// In the running program it is `A`. In a patch it forwards every call to the program's
/// allocator from the moment the patch is attached, before any of its code runs.
#[derive(Debug)]
pub struct SharedAllocator<A> {
    inner: A,
}

impl<A> SharedAllocator<A> {
    /// Wraps `inner`.
    pub const fn new(inner: A) -> Self {
        SharedAllocator { inner }
    }
}

#[inline]
fn forwarded<A: 'static>() -> Option<&'static AllocTable> {
    if !SHARED_IN_USE.load(Ordering::Relaxed) {
        note_in_use::<A>();
    }
    // Acquire pairs with the Release in `forward_to`: the table is fully written before use.
    let table = FORWARD.load(Ordering::Acquire);
    // SAFETY: `FORWARD` is null or points to the program's `AllocTable`, which lives in a
    // static of the program for as long as the process.
    unsafe { table.as_ref() }
}

#[cold]
fn note_in_use<A: 'static>() {
    SHARED_WRAPS_SYSTEM.store(TypeId::of::<A>() == TypeId::of::<System>(), Ordering::Relaxed);
    SHARED_IN_USE.store(true, Ordering::Relaxed);
}

// SAFETY: every method either calls the same method of `inner` with the caller's arguments, or
// calls the program's allocator, which upholds the same contract; a block is always freed by
// the allocator that made it because forwarding starts before the patch's first allocation
// that can outlive its attach (see `patch::attach`).
unsafe impl<A: GlobalAlloc + 'static> GlobalAlloc for SharedAllocator<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match forwarded::<A>() {
            // SAFETY: the caller's layout is valid and of nonzero size, as `alloc` requires.
            Some(table) => unsafe { (table.alloc)(layout.size(), layout.align()) },
            // SAFETY: as above.
            None => unsafe { self.inner.alloc(layout) },
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match forwarded::<A>() {
            // SAFETY: as in `alloc`.
            Some(table) => unsafe { (table.alloc_zeroed)(layout.size(), layout.align()) },
            // SAFETY: as in `alloc`.
            None => unsafe { self.inner.alloc_zeroed(layout) },
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match forwarded::<A>() {
            // SAFETY: `ptr` was allocated by this allocator with `layout`, so (see the impl's
            // comment) by the program's allocator.
            Some(table) => unsafe { (table.dealloc)(ptr, layout.size(), layout.align()) },
            // SAFETY: `ptr` was allocated by `inner` with `layout`.
            None => unsafe { self.inner.dealloc(ptr, layout) },
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        match forwarded::<A>() {
            // SAFETY: as in `dealloc`, and `new_size` is valid for `layout.align()`.
            Some(table) => unsafe { (table.realloc)(ptr, layout.size(), layout.align(), new_size) },
            // SAFETY: as in `dealloc`.
            None => unsafe { self.inner.realloc(ptr, layout, new_size) },
        }
    }
}

/// Makes this (patch) image's `SharedAllocator` forward to `table`.
pub(crate) fn forward_to(table: &'static AllocTable) {
    FORWARD.store((table as *const AllocTable).cast_mut(), Ordering::Release);
}

/// Whether this image's global allocator is a `SharedAllocator` now forwarding.
pub(crate) fn forwards() -> bool {
    // Allocate once so that a `SharedAllocator` notes itself even if nothing did yet.
    drop(std::hint::black_box(Box::new(0u64)));
    SHARED_IN_USE.load(Ordering::Relaxed) && !FORWARD.load(Ordering::Relaxed).is_null()
}

/// The running program's allocator, as the table a patch forwards to.
pub(crate) const fn program_table() -> &'static AllocTable {
    unsafe extern "C" fn alloc(size: usize, align: usize) -> *mut u8 {
        // SAFETY: the patch's `SharedAllocator` passes the size and alignment of a valid
        // `Layout` it was given.
        unsafe { std::alloc::alloc(Layout::from_size_align_unchecked(size, align)) }
    }
    unsafe extern "C" fn alloc_zeroed(size: usize, align: usize) -> *mut u8 {
        // SAFETY: as in `alloc`.
        unsafe { std::alloc::alloc_zeroed(Layout::from_size_align_unchecked(size, align)) }
    }
    unsafe extern "C" fn dealloc(ptr: *mut u8, size: usize, align: usize) {
        // SAFETY: as in `alloc`; `ptr` came from this allocator with that layout.
        unsafe { std::alloc::dealloc(ptr, Layout::from_size_align_unchecked(size, align)) }
    }
    unsafe extern "C" fn realloc(
        ptr: *mut u8,
        size: usize,
        align: usize,
        new_size: usize,
    ) -> *mut u8 {
        // SAFETY: as in `dealloc`.
        unsafe {
            std::alloc::realloc(ptr, Layout::from_size_align_unchecked(size, align), new_size)
        }
    }
    static TABLE: AllocTable = AllocTable { alloc, alloc_zeroed, dealloc, realloc };
    &TABLE
}

/// What an image allocates with, as far as can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Heap {
    /// The default global allocator: the process's one `malloc`.
    Malloc,
    /// A `#[global_allocator]` of its own.
    Custom,
    /// No allocator of its own: it imports `__rust_alloc` from a shared library (a shared
    /// `libstd`, or a dylib that declares a `#[global_allocator]`). Two images that both import
    /// it resolve it in the same global scope: to the same allocator.
    Imported,
    /// The symbol table is stripped: cannot be told.
    Unknown,
}

impl Heap {
    /// Reads an image's symbol tables: an image linked against a shared `libstd` imports
    /// `__rust_alloc` (the global allocator's entry point) among its dynamic symbols, and
    /// rustc links `__rdl_alloc` (the default allocator's) only into images that declare no
    /// `#[global_allocator]`.
    pub(crate) fn of_image(file: &object::read::File<'_>) -> Heap {
        use object::{Object, ObjectSymbol};
        let imported = file.dynamic_symbols().any(|symbol| {
            symbol.is_undefined() && symbol.name().is_ok_and(|n| n.ends_with("__rust_alloc"))
        });
        if imported {
            return Heap::Imported;
        }
        let mut any = false;
        for symbol in file.symbols() {
            any = true;
            if symbol.name().is_ok_and(|n| n.ends_with("__rdl_alloc")) {
                return Heap::Malloc;
            }
        }
        if any {
            Heap::Custom
        } else {
            Heap::Unknown
        }
    }

    /// The running program's heap.
    pub(crate) fn of_program() -> Heap {
        static PROGRAM: OnceLock<Heap> = OnceLock::new();
        *PROGRAM.get_or_init(|| {
            // A `SharedAllocator<System>` is malloc whatever the symbol table says.
            drop(std::hint::black_box(Box::new(0u64)));
            if SHARED_IN_USE.load(Ordering::Relaxed) {
                return if SHARED_WRAPS_SYSTEM.load(Ordering::Relaxed) {
                    Heap::Malloc
                } else {
                    Heap::Custom
                };
            }
            let Ok(bytes) = std::fs::read("/proc/self/exe") else { return Heap::Unknown };
            object::read::File::parse(&*bytes).map_or(Heap::Unknown, |file| Heap::of_image(&file))
        })
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            Heap::Malloc => "the system allocator",
            Heap::Custom => "a custom #[global_allocator]",
            Heap::Imported => "the allocator of a shared library (a shared libstd)",
            Heap::Unknown => "an allocator that cannot be told (stripped symbols)",
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
    static FREED: AtomicUsize = AtomicUsize::new(0);

    /// A program allocator that counts, standing in for the program's side of the table.
    fn counting_table() -> &'static AllocTable {
        unsafe extern "C" fn alloc(size: usize, align: usize) -> *mut u8 {
            ALLOCATED.fetch_add(1, Ordering::Relaxed);
            // SAFETY: the sizes come from a valid `Layout`.
            unsafe { System.alloc(Layout::from_size_align_unchecked(size, align)) }
        }
        unsafe extern "C" fn dealloc(ptr: *mut u8, size: usize, align: usize) {
            FREED.fetch_add(1, Ordering::Relaxed);
            // SAFETY: as in `alloc`, and `ptr` came from it.
            unsafe { System.dealloc(ptr, Layout::from_size_align_unchecked(size, align)) }
        }
        static TABLE: AllocTable =
            AllocTable { alloc, alloc_zeroed: alloc, dealloc, realloc: program_table().realloc };
        &TABLE
    }

    #[test]
    fn an_attached_shared_allocator_forwards_everything() {
        let shared = SharedAllocator::new(System);
        let layout = Layout::new::<[u64; 4]>();
        // SAFETY: a valid, nonzero layout; the block is freed below with the same layout.
        let before = unsafe { shared.alloc(layout) };
        assert!(!before.is_null());
        // SAFETY: allocated above by `System` (nothing forwarded yet).
        unsafe { shared.dealloc(before, layout) };
        assert_eq!(ALLOCATED.load(Ordering::Relaxed), 0);

        forward_to(counting_table());
        // SAFETY: as above.
        let block = unsafe { shared.alloc(layout) };
        // SAFETY: `block` was allocated just above, through the same table.
        unsafe { shared.dealloc(block, layout) };
        assert_eq!((ALLOCATED.load(Ordering::Relaxed), FREED.load(Ordering::Relaxed)), (1, 1));
        assert!(
            SHARED_IN_USE.load(Ordering::Relaxed) && SHARED_WRAPS_SYSTEM.load(Ordering::Relaxed)
        );
    }
}
