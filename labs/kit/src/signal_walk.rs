//! What a signal handler needs to walk the stack of the thread it
//! interrupted, shared by the CPU sampler (`SIGPROF`) and the thread dump
//! (`SIGURG`): the interrupted instruction's address, the libraries a
//! handler must not unwind from, errno kept for the interrupted code, and
//! the walk itself into a buffer the handler does not allocate.

#![allow(unsafe_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

/// Address ranges of the blocklisted libraries, start and end in pairs.
const MAX_RANGES: usize = 16;
static RANGES: [AtomicUsize; 2 * MAX_RANGES] = [const { AtomicUsize::new(0) }; 2 * MAX_RANGES];

/// Records the address ranges of the mapped libraries whose path contains
/// one of `names` (their executable mappings, from `/proc/self/maps`).
pub(crate) fn block_ranges(names: &[&str]) {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let ranges = maps.lines().filter_map(|line| {
        let mut fields = line.split_ascii_whitespace();
        let (range, perms) = (fields.next()?, fields.next()?);
        let path = fields.nth(3).unwrap_or("");
        if !perms.contains('x') || !names.iter().any(|n| path.contains(n)) {
            return None;
        }
        let (start, end) = range.split_once('-')?;
        Some((
            usize::from_str_radix(start, 16).ok()?,
            usize::from_str_radix(end, 16).ok()?,
        ))
    });
    let mut i = 0;
    for (start, end) in ranges.take(MAX_RANGES) {
        RANGES[2 * i].store(start, Ordering::Relaxed);
        RANGES[2 * i + 1].store(end, Ordering::Relaxed);
        i += 1;
    }
    for rest in &RANGES[2 * i..] {
        rest.store(0, Ordering::Relaxed);
    }
}

/// Whether `pc` lies in a blocklisted library: a handler that interrupted
/// the unwinder itself must not start a second walk on top of it.
pub(crate) fn blocked(pc: usize) -> bool {
    RANGES
        .chunks(2)
        .any(|r| (r[0].load(Ordering::Relaxed)..r[1].load(Ordering::Relaxed)).contains(&pc))
}

/// Walks a few frames outside any signal, so that the unwinder loads its
/// tables and binds its calls into libc here, not in a handler that may
/// have interrupted the loader.
pub(crate) fn walk_once() {
    let mut n = 0;
    // SAFETY: see `walk`; here outside any signal.
    unsafe {
        backtrace::trace_unsynchronized(|_| {
            n += 1;
            n < 4
        });
    }
}

/// Writes the calling thread's return addresses, innermost first (the
/// handler's own frames included), into `ips`; returns how many.
///
/// # Safety
/// Async-signal-safe where `trace_unsynchronized` is `_Unwind_Backtrace`
/// (Linux), which takes no lock and allocates nothing once
/// [`walk_once`] has run. The caller must not have interrupted a
/// blocklisted library ([`blocked`]).
pub(crate) unsafe fn walk(ips: &mut [usize]) -> usize {
    let mut depth = 0;
    // SAFETY: as the caller promised; the closure writes into `ips` only
    // and never panics (the index is checked).
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            if depth >= ips.len() {
                return false;
            }
            ips[depth] = frame.ip() as usize;
            depth += 1;
            depth < ips.len()
        });
    }
    depth
}

/// The interrupted instruction's address, from the signal's context.
///
/// # Safety
/// `context` is the third argument of an SA_SIGINFO handler.
pub(crate) unsafe fn interrupted_pc(context: *mut libc::c_void) -> usize {
    if context.is_null() {
        return 0;
    }
    let context = context as *const libc::ucontext_t;
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    // SAFETY: the kernel passes a ucontext_t.
    unsafe {
        (*context).uc_mcontext.gregs[libc::REG_RIP as usize] as usize
    }
    #[cfg(all(target_os = "linux", target_arch = "aarch64"))]
    // SAFETY: the kernel passes a ucontext_t.
    unsafe {
        (*context).uc_mcontext.pc as usize
    }
    #[cfg(not(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )))]
    {
        let _ = context;
        0
    }
}

/// Keeps the interrupted code's errno across a handler's system calls:
/// restored when dropped.
pub(crate) struct SavedErrno(libc::c_int);

impl SavedErrno {
    pub(crate) fn save() -> SavedErrno {
        // SAFETY: errno is thread-local; reading it is always allowed.
        SavedErrno(unsafe { *libc::__errno_location() })
    }
}

impl Drop for SavedErrno {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { *libc::__errno_location() = self.0 };
    }
}

/// The calling thread's id and name (`prctl(PR_GET_NAME)`, at most 15
/// bytes and a NUL), async-signal-safe.
pub(crate) fn tid_and_name() -> (u32, [u8; 16]) {
    let mut name = [0u8; 16];
    // SAFETY: plain system calls; PR_GET_NAME writes at most 16 bytes.
    let tid = unsafe {
        libc::prctl(libc::PR_GET_NAME, name.as_mut_ptr());
        libc::syscall(libc::SYS_gettid) as u32
    };
    (tid, name)
}
