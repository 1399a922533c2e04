//! Go's `threadcreate` profile: the stacks that created the process's
//! threads, one sample per distinct stack, valued by how many threads it
//! made.
//!
//! Every thread a Linux program makes goes through `pthread_create`:
//! `std::thread`, tokio's workers and blocking pool, the profilers' own
//! threads. With the `threadcreate` feature this module defines
//! `pthread_create` in the program itself, so the linker binds every call
//! in the program (std's included) to it: it records the caller's return
//! addresses, then calls the C library's own (looked up with
//! `dlsym(RTLD_NEXT)`). Only addresses are kept here; they are named when
//! a profile is written.
//!
//! Go has the same profile and, for years, next to nothing in it: the
//! runtime records a creating stack only when a thread is made from a
//! goroutine's own stack (`mcommoninit` in `runtime/proc.go` skips `g0`),
//! and the scheduler makes almost all of them from `g0` (golang/go#6104).
#![allow(unsafe_code)]

use std::cell::Cell;
use std::collections::BTreeMap;
use std::ffi::c_void;
use std::fmt::Write as _;
use std::sync::Mutex;

use crate::proto;
use crate::stacks::Builder;

/// How many return addresses a creation keeps (Go keeps 32).
const DEPTH: usize = 64;

/// One creation: the creating thread's return addresses, innermost first.
struct Created {
    ips: Vec<usize>,
}

static CREATED: Mutex<Vec<Created>> = Mutex::new(Vec::new());

thread_local! {
    /// Set while this thread records a creation: a thread made by the
    /// recording itself (an allocator's helper, say) is not recorded,
    /// rather than waiting on the lock this thread holds.
    static RECORDING: Cell<bool> = const { Cell::new(false) };
}

type StartRoutine = extern "C" fn(*mut c_void) -> *mut c_void;
type PthreadCreate = unsafe extern "C" fn(
    *mut libc::pthread_t,
    *const libc::pthread_attr_t,
    StartRoutine,
    *mut c_void,
) -> libc::c_int;

/// The C library's `pthread_create`, looked up once.
fn real_pthread_create() -> Option<PthreadCreate> {
    static REAL: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let address = *REAL.get_or_init(|| {
        // SAFETY: dlsym with a NUL-terminated name; RTLD_NEXT finds the
        // next definition after this object, the C library's.
        unsafe { libc::dlsym(libc::RTLD_NEXT, c"pthread_create".as_ptr()) as usize }
    });
    if address == 0 {
        return None;
    }
    // SAFETY: the C library's pthread_create has exactly this signature.
    Some(unsafe { std::mem::transmute::<usize, PthreadCreate>(address) })
}

/// Every thread of the program is made here: the creating stack is
/// recorded, then the C library makes the thread.
///
/// # Safety
/// As `pthread_create(3)`.
#[cfg(feature = "threadcreate")]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pthread_create(
    thread: *mut libc::pthread_t,
    attr: *const libc::pthread_attr_t,
    start: StartRoutine,
    arg: *mut c_void,
) -> libc::c_int {
    record();
    match real_pthread_create() {
        // SAFETY: the caller's arguments, passed on unchanged.
        Some(real) => unsafe { real(thread, attr, start, arg) },
        None => libc::EAGAIN,
    }
}

/// Records the calling stack as a thread creation.
fn record() {
    if RECORDING.with(|r| r.replace(true)) {
        return;
    }
    let mut ips = [0usize; DEPTH];
    // SAFETY: outside any signal handler, the unwinder may run anywhere.
    let depth = unsafe { crate::signal_walk::walk(&mut ips) };
    // The unwinder may end a stack with a null return address.
    let created = Created {
        ips: ips[..depth].iter().copied().filter(|&ip| ip != 0).collect(),
    };
    CREATED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(created);
    RECORDING.with(|r| r.set(false));
}

/// Whether this program records thread creations (built with the
/// `threadcreate` feature, and the linker bound `pthread_create` to
/// labkit's). False until the first thread after `main` starts.
pub fn recording() -> bool {
    !CREATED.lock().unwrap_or_else(|e| e.into_inner()).is_empty()
}

/// Frames at the innermost end of a creating stack that are the recording
/// or the thread library, not the program's call.
fn creation_frames(names: &[&str]) -> usize {
    crate::stacks::leading(
        names,
        &[
            "backtrace::",
            "labkit::threadcreate::",
            "labkit::signal_walk::",
            "pthread_create",
            "std::sys::",
            "<std::sys::",
        ],
    )
}

/// The creating stacks grouped: stack → threads made there.
fn groups() -> BTreeMap<Vec<usize>, i64> {
    let created = CREATED.lock().unwrap_or_else(|e| e.into_inner());
    let mut groups = BTreeMap::new();
    for c in created.iter() {
        *groups.entry(c.ips.clone()).or_insert(0) += 1;
    }
    groups
}

/// The profile (`debug=0`): sample type `threadcreate`/`count`, as Go's.
pub fn to_pprof() -> proto::Profile {
    let mut builder = Builder::new();
    let groups = groups();
    let total: i64 = groups.values().sum();
    for (ips, count) in groups {
        let location_id = builder.stack(&ips, &creation_frames);
        builder.samples.push(proto::Sample {
            location_id,
            value: vec![count],
            label: Vec::new(),
        });
    }
    builder.finish_counts(
        "threadcreate",
        &format!("labkit: {total} threads created since the program started"),
    )
}

/// [`to_pprof`], encoded and gzipped.
pub fn to_pprof_gz() -> Vec<u8> {
    crate::stacks::gzipped(&to_pprof())
}

/// The grouped text (`debug=1`), as Go's `printCountProfile` writes it:
/// `threadcreate profile: total N`, then `N @ addresses` and the frames,
/// most threads first.
pub fn debug1() -> String {
    let mut builder = Builder::new();
    let mut groups: Vec<(Vec<usize>, i64)> = groups().into_iter().collect();
    groups.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let total: i64 = groups.iter().map(|g| g.1).sum();
    let mut out = format!("threadcreate profile: total {total}\n");
    for (ips, count) in groups {
        let frames = crate::goroutine::symbolise(&mut builder, &ips);
        let names: Vec<&str> = frames.iter().map(|f| f.function.as_str()).collect();
        let cut = creation_frames(&names);
        let frames = &frames[cut..];
        let mut addresses: Vec<usize> = frames.iter().filter_map(|f| f.address).collect();
        addresses.dedup();
        let _ = write!(out, "{count} @");
        for a in &addresses {
            let _ = write!(out, " {a:#x}");
        }
        out.push('\n');
        for f in frames {
            let offset = f.offset.map_or(String::new(), |o| format!("+{o:#x}"));
            let _ = writeln!(
                out,
                "#\t{:#x}\t{}{offset}\t{}:{}",
                f.address.unwrap_or(0),
                f.function,
                f.file,
                f.line
            );
        }
        out.push('\n');
    }
    out
}

#[cfg(all(test, feature = "threadcreate"))]
mod tests {
    /// A thread made by a named function is recorded with that function
    /// on its creating stack, and the profile counts it.
    #[test]
    fn a_spawn_is_recorded_with_its_caller() {
        #[inline(never)]
        fn make_two_threads_here() {
            for _ in 0..2 {
                std::thread::spawn(|| ()).join().unwrap();
            }
        }
        make_two_threads_here();
        assert!(super::recording(), "no creation recorded");
        let text = super::debug1();
        let group = text
            .split("\n\n")
            .find(|g| g.contains("make_two_threads_here"))
            .unwrap_or_else(|| panic!("no stack through make_two_threads_here:\n{text}"));
        let count: u64 = group
            .lines()
            .find_map(|l| l.split(" @").next()?.parse().ok())
            .unwrap_or(0);
        assert!(count >= 2, "{group}");
        // The profile's innermost frame is the program's spawn, not the
        // recording's own.
        assert!(!text.contains("labkit::threadcreate::record"), "{text}");
    }
}
