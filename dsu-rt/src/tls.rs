//! The program's per-thread transaction state, reached from every image.
//!
//! A patch's copy of this crate has thread-locals of its own, which the program's runtime
//! never sets: patch code must read the program's. The program's thread-locals live in the
//! static TLS block of the executable, at one offset from the thread pointer on every thread
//! (the ELF TLS layout), so the program hands that offset to each patch it attaches and the
//! patch reads the program's state with one load relative to the thread pointer, as the
//! program's own code does. Where that cannot be relied on (another architecture, or a
//! program whose runtime is not in the executable), the patch asks the program through the
//! host context, which costs a call.

use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::OnceLock;

use dsu_abi::{op, HostContext};

use crate::context::{self, Op};
use crate::record::Record;

/// A thread's transaction state in the program.
pub(crate) struct Local {
    /// The record of the transaction the thread runs in, or null.
    pub(crate) current: Cell<*const Record>,
    /// The thread's own record, for the transactions it enters, once it has one.
    pub(crate) own: Cell<*const Record>,
}

thread_local! {
    static LOCAL: Local = const {
        Local { current: Cell::new(std::ptr::null()), own: Cell::new(std::ptr::null()) }
    };
}

/// How this image reaches the program's `Local`: `NATIVE` in the program, else the offset of
/// the program's `LOCAL` from the thread pointer, or `BY_HOST`.
static ACCESS: AtomicIsize = AtomicIsize::new(NATIVE);

const NATIVE: isize = 0;
const BY_HOST: isize = isize::MIN;

/// The calling thread's `Local` in the program.
#[inline(always)]
pub(crate) fn local() -> *const Local {
    local_by(ACCESS.load(Ordering::Relaxed))
}

/// The calling thread's `Local` in the program, for an image whose access is `access`: what
/// this image's `ACCESS` holds, which a patch's slots hold too (see `Slot::note`).
#[inline(always)]
pub(crate) fn local_by(access: isize) -> *const Local {
    if access == NATIVE {
        native()
    } else {
        foreign(access)
    }
}

/// The access the program gives the patches it attaches.
pub(crate) fn patch_access() -> isize {
    program_offset().unwrap_or(BY_HOST)
}

/// This image's own `Local` of the calling thread.
#[inline(always)]
pub(crate) fn native() -> *const Local {
    // `LOCAL` has a const initialiser and no destructor: it lives as long as the thread.
    LOCAL.with(|local| local as *const Local)
}

#[inline(always)]
fn foreign(access: isize) -> *const Local {
    #[cfg(all(target_arch = "x86_64", target_os = "linux", not(miri)))]
    if access != BY_HOST {
        return thread_pointer().wrapping_offset(access).cast();
    }
    let _ = access;
    by_host()
}

#[cold]
#[inline(never)]
fn by_host() -> *const Local {
    by_context(context::host().expect("a patch reaches the program's thread state"))
}

/// The calling thread's `Local` in the program, asked through the host context: the
/// program answers with its `native()`.
pub(crate) struct ThreadState;

// SAFETY: `LOCAL` is this operation's alone, and `host.rs` serves it with `serve::<ThreadState>`.
unsafe impl Op for ThreadState {
    const ID: u32 = op::LOCAL;
    type Input = ();
    type Output = *const Local;
}

/// The calling thread's `Local` in the program that made `context`.
fn by_context(context: &HostContext) -> *const Local {
    context::call::<ThreadState>(context, &()).expect("the program answers with its thread state")
}

/// The thread pointer: on x86-64 Linux, the TCB's pointer to itself at `fs:0`.
#[cfg(all(target_arch = "x86_64", target_os = "linux", not(miri)))]
#[inline(always)]
fn thread_pointer() -> *const u8 {
    let pointer: *const u8;
    // SAFETY: reads the word at `fs:0`, which the C library sets to the thread control
    // block's own address on every thread (x86-64 ELF TLS ABI); touches nothing else.
    unsafe {
        std::arch::asm!(
            "mov {}, qword ptr fs:[0]",
            out(reg) pointer,
            options(nostack, readonly, preserves_flags, pure)
        )
    };
    pointer
}

/// What the program tells a patch about reaching its thread state: the offset of `LOCAL`
/// from the thread pointer, the same on every thread, or `None` if that cannot be relied on.
/// Worked out once: finding the image of `LOCAL` walks the list of loaded objects, and an
/// update asks for every slot it registers.
pub(crate) fn program_offset() -> Option<isize> {
    static OFFSET: OnceLock<Option<isize>> = OnceLock::new();
    *OFFSET.get_or_init(|| {
        #[cfg(all(target_arch = "x86_64", target_os = "linux", not(miri)))]
        if in_executable(native as *const ()) {
            let offset = (native() as isize).wrapping_sub(thread_pointer() as isize);
            if offset != NATIVE && offset != BY_HOST {
                return Some(offset);
            }
        }
        None
    })
}

/// Makes this image, a patch being attached, reach the program's thread state.
pub(crate) fn attach(program_offset: Option<isize>) {
    // Relaxed: no thread of the program runs this image's code before the commit, whose
    // Release store of the slots (Acquire-loaded by every call) publishes this too; before it,
    // only the updater's thread does (the patch's transformers), which stored this itself.
    ACCESS.store(program_offset.unwrap_or(BY_HOST), Ordering::Relaxed);
}

/// Whether `address` is in the executable itself, whose TLS block is static, rather than in a
/// shared library, whose block may be allocated per thread when it was loaded late.
#[cfg(all(target_arch = "x86_64", target_os = "linux", not(miri)))]
fn in_executable(address: *const ()) -> bool {
    struct Search {
        address: usize,
        found: bool,
    }
    unsafe extern "C" fn visit(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: `data` is the `Search` passed below; `info` is valid during the callback.
        let (search, info) = unsafe { (&mut *data.cast::<Search>(), &*info) };
        // SAFETY: `dlpi_phdr` points to `dlpi_phnum` program headers.
        let headers = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum.into()) };
        search.found = headers.iter().any(|header| {
            let start = info.dlpi_addr as usize + header.p_vaddr as usize;
            header.p_type == libc::PT_LOAD
                && (start..start + header.p_memsz as usize).contains(&search.address)
        });
        1 // the first object is the executable: stop there
    }
    let mut search = Search { address: address as usize, found: false };
    // SAFETY: `visit` only reads the headers it is given and writes `search`.
    unsafe { libc::dl_iterate_phdr(Some(visit), (&mut search as *mut Search).cast()) };
    search.found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(all(target_arch = "x86_64", target_os = "linux", not(miri)))]
    #[test]
    fn the_offset_reaches_the_same_local_on_every_thread() {
        let offset = program_offset().expect("the test binary is an executable");
        let read = move || (thread_pointer().wrapping_offset(offset).cast::<Local>(), native());
        let (here, expected) = read();
        assert_eq!(here, expected);
        let (there, expected_there) = std::thread::spawn(move || {
            let (there, expected) = read();
            (there as usize, expected as usize)
        })
        .join()
        .unwrap();
        assert_eq!(there, expected_there);
        assert_ne!(there, here as usize, "each thread has its own");
    }

    #[test]
    fn the_program_reads_its_own_thread_state() {
        assert_eq!(local(), native());
    }

    #[test]
    fn a_patch_without_the_offset_asks_the_program() {
        let context = crate::host::context();
        assert_eq!(by_context(context), native());
        let there = std::thread::spawn(|| (by_context(context) as usize, native() as usize));
        let (asked, expected) = there.join().unwrap();
        assert_eq!(asked, expected);
    }
}
