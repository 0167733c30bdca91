//! One heap for the program and its patches when the program has its own global allocator:
//! a patch with `dsu::SharedAllocator` allocates from the program's allocator, and a patch
//! that would allocate from a heap of its own is refused.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use dsu::UpdateError;

/// The program's allocator: `System`, counting what it is asked for.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static FREES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to `System` unchanged, counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        FREES.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: dsu::SharedAllocator<Counting> = dsu::SharedAllocator::new(Counting);

#[test]
fn patches_share_the_programs_allocator() {
    // A patch with the default allocator would allocate with malloc, not with `Counting`.
    let error = dsu::update(support::build("app/v2", &[])).expect_err("refused");
    assert!(matches!(error, UpdateError::AllocatorMismatch { .. }), "{error:?}");
    assert!(error.to_string().contains("SharedAllocator"), "the message says what to do: {error}");
    // So would one with an allocator of its own.
    let error = dsu::update(support::build("app/v2", &["custom-alloc"])).expect_err("refused");
    assert!(matches!(error, UpdateError::AllocatorMismatch { .. }), "{error:?}");
    assert_eq!(app::version(), 1);

    // A patch whose global allocator is `SharedAllocator` forwards to ours.
    dsu::update(support::build("app/v2", &["shared-alloc"])).expect("applies");
    assert_eq!(app::version(), 2);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    let greeting = app::greet("shared"); // allocated by the patch's code
    assert_eq!(greeting, "hi shared from v2");
    assert!(
        ALLOCATIONS.load(Ordering::Relaxed) > allocations,
        "the patch's String came from Counting"
    );
    let frees = FREES.load(Ordering::Relaxed);
    drop(greeting); // freed by the program
    assert!(FREES.load(Ordering::Relaxed) > frees);
}
