//! The CPU sampler: the kernel sends `SIGPROF` to the process for every
//! period of CPU time it burns (`setitimer(ITIMER_PROF)`, as Go did on
//! Linux before 1.18 and pprof-rs does), and the thread it interrupts walks
//! its own stack in the signal handler.
//!
//! A signal handler may run in the middle of anything, `malloc` included,
//! so it must not allocate or take a lock. It writes the stack into a
//! fixed table of slots allocated with the program (a `static`), claimed
//! and released with atomics; a drain thread empties the table every few
//! milliseconds into a map counted by stack. A sample that finds no free
//! slot is counted as lost, as Go counts its own.
//!
//! Samples are keyed by every return address, so each line of a function
//! keeps its own samples (`go tool pprof -list`), and symbols are looked up
//! only when the capture stops, once per distinct address.

#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::signal_walk::{
    SavedErrno, block_ranges, blocked, interrupted_pc, tid_and_name, walk, walk_once,
};

/// Frames kept per sample, from the innermost: Go's `maxCPUProfStack`.
pub const MAX_DEPTH: usize = 64;
/// Frames walked: the handler's own and the signal trampoline come first,
/// and are dropped after.
const WALK_DEPTH: usize = MAX_DEPTH + 16;
/// Samples the table holds between two drains. At 1000 samples per
/// CPU-second on each of 64 busy cores, a drain every
/// [`DRAIN_EVERY`] finds at most ~640.
const SLOTS: usize = 2048;
/// How often the drain thread empties the table.
const DRAIN_EVERY: Duration = Duration::from_millis(10);

const FREE: u8 = 0;
const WRITING: u8 = 1;
const FULL: u8 = 2;

/// One sample's place in the table.
struct Slot {
    state: AtomicU8,
    data: UnsafeCell<Raw>,
}

/// A sample as the handler writes it.
#[derive(Clone, Copy)]
struct Raw {
    /// The interrupted instruction's address, 0 if unknown.
    pc: usize,
    tid: u32,
    name: [u8; 16],
    /// The thread's labels then ([`crate::labels`]).
    labels: u32,
    depth: usize,
    ips: [usize; WALK_DEPTH],
}

// SAFETY: `data` is written only by the one thread that moved `state` from
// FREE to WRITING, and read only by the drain thread after it saw FULL
// (Acquire, paired with the writer's Release); it goes back to FREE only
// when the reader is done.
unsafe impl Sync for Slot {}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_SLOT: Slot = Slot {
    state: AtomicU8::new(FREE),
    data: UnsafeCell::new(Raw {
        pc: 0,
        tid: 0,
        name: [0; 16],
        labels: 0,
        depth: 0,
        ips: [0; WALK_DEPTH],
    }),
};

/// The table: zeroed memory in the program image, so a process that never
/// profiles never touches it (about 1.3 MB once every slot has been used).
static TABLE: [Slot; SLOTS] = [EMPTY_SLOT; SLOTS];
static NEXT: AtomicUsize = AtomicUsize::new(0);
/// Whether the handler records (the handler stays installed between
/// captures: a signal still in flight must never meet the default action,
/// which ends the process).
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Samples taken into the table since the capture started.
static TAKEN: AtomicU64 = AtomicU64::new(0);
/// Samples that found the table full.
static LOST: AtomicU64 = AtomicU64::new(0);
/// Samples dropped because the signal interrupted code the handler must
/// not unwind from (see [`super::BLOCKLIST`]).
static SKIPPED: AtomicU64 = AtomicU64::new(0);
/// One stack as it is counted: the thread, and its return addresses from
/// the innermost, the interrupted instruction's address plus one (so that
/// every address is looked up one byte back, as a return address is).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub tid: u32,
    pub thread: String,
    /// The label set the thread ran under ([`crate::labels`]).
    pub labels: u32,
    pub ips: Vec<usize>,
}

/// What a capture collected.
#[derive(Debug, Default)]
pub struct Samples {
    pub counts: HashMap<Key, u64>,
    pub lost: u64,
    pub skipped: u64,
}

/// A sampler that runs: the timer armed, the drain thread emptying the
/// table. One per process at a time (the caller makes sure).
pub struct Running {
    stop: Arc<AtomicBool>,
    drain: Option<JoinHandle<HashMap<Key, u64>>>,
}

/// Arms the timer at `hz` samples per CPU-second.
pub fn start(hz: i32) -> Result<Running, String> {
    install_handler()?;
    block_ranges(super::BLOCKLIST);
    // A table left FULL by an earlier capture's last moments is emptied
    // without being counted.
    for slot in &TABLE {
        slot.state.store(FREE, Ordering::Release);
    }
    TAKEN.store(0, Ordering::Relaxed);
    LOST.store(0, Ordering::Relaxed);
    SKIPPED.store(0, Ordering::Relaxed);
    // The first stack walk loads the unwinder's tables and binds its
    // calls into libc: done here, not in a handler that may have
    // interrupted the loader.
    walk_once();
    let stop = Arc::new(AtomicBool::new(false));
    let drain = std::thread::Builder::new()
        .name("labkit-cpu-drain".into())
        .spawn({
            let stop = stop.clone();
            move || {
                let mut counts = HashMap::new();
                while !stop.load(Ordering::Acquire) {
                    std::thread::sleep(DRAIN_EVERY);
                    drain(&mut counts);
                }
                counts
            }
        })
        .map_err(|e| format!("cannot start the sampler's drain thread: {e}"))?;
    ACTIVE.store(true, Ordering::Release);
    if let Err(e) = set_timer(hz) {
        ACTIVE.store(false, Ordering::Release);
        stop.store(true, Ordering::Release);
        let _ = drain.join();
        return Err(e);
    }
    Ok(Running {
        stop,
        drain: Some(drain),
    })
}

/// Samples taken so far in the running capture: an atomic read, cheap
/// enough for a loop to ask often.
pub fn taken() -> u64 {
    TAKEN.load(Ordering::Relaxed)
}

impl Running {
    /// Disarms the timer and collects every sample.
    pub fn stop(mut self) -> Samples {
        let counts = self.finish();
        Samples {
            counts,
            lost: LOST.load(Ordering::Relaxed),
            skipped: SKIPPED.load(Ordering::Relaxed),
        }
    }

    fn finish(&mut self) -> HashMap<Key, u64> {
        let _ = set_timer(0);
        ACTIVE.store(false, Ordering::Release);
        self.stop.store(true, Ordering::Release);
        let mut counts = self
            .drain
            .take()
            .and_then(|d| d.join().ok())
            .unwrap_or_default();
        // A handler that began before the timer stopped may still be
        // writing: give it a moment (a walk takes microseconds).
        for _ in 0..100 {
            if !TABLE
                .iter()
                .any(|s| s.state.load(Ordering::Acquire) == WRITING)
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        drain(&mut counts);
        counts
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.drain.is_some() {
            self.finish();
        }
    }
}

/// Moves every full slot into `counts`.
fn drain(counts: &mut HashMap<Key, u64>) {
    for slot in &TABLE {
        if slot.state.load(Ordering::Acquire) != FULL {
            continue;
        }
        // SAFETY: FULL, seen with Acquire: the handler is done with it,
        // and no one else writes until we store FREE.
        let raw = unsafe { *slot.data.get() };
        slot.state.store(FREE, Ordering::Release);
        let walked = &raw.ips[..raw.depth.min(WALK_DEPTH)];
        // Drop the handler's frames: everything inside the interrupted
        // frame, found by its exact address.
        let from = walked.iter().position(|&ip| ip == raw.pc);
        let Some(from) = from.filter(|_| raw.pc != 0) else {
            continue;
        };
        let mut ips: Vec<usize> = walked[from..].iter().copied().take(MAX_DEPTH).collect();
        ips[0] = ips[0].wrapping_add(1);
        let end = raw.name.iter().position(|&b| b == 0).unwrap_or(16);
        let thread = String::from_utf8_lossy(&raw.name[..end]).into_owned();
        *counts
            .entry(Key {
                tid: raw.tid,
                thread,
                labels: raw.labels,
                ips,
            })
            .or_insert(0) += 1;
    }
}

/// Installs the handler, once per process.
fn install_handler() -> Result<(), String> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            // SAFETY: a zeroed sigaction is valid; the handler has the
            // three-argument form SA_SIGINFO asks for.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = handler as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                // A thread dump's walk must not start on top of this one.
                libc::sigaddset(&mut action.sa_mask, crate::thread_dump::SIGNAL);
                if libc::sigaction(libc::SIGPROF, &action, std::ptr::null_mut()) != 0 {
                    return Err(format!(
                        "cannot install the SIGPROF handler: {}",
                        std::io::Error::last_os_error()
                    ));
                }
            }
            Ok(())
        })
        .clone()
}

/// `setitimer(ITIMER_PROF)`: one signal per `1/hz` s of the process's CPU
/// time (the kernel rounds up to its tick); 0 disarms it.
fn set_timer(hz: i32) -> Result<(), String> {
    let usec = if hz > 0 {
        (1_000_000 / i64::from(hz)).max(1)
    } else {
        0
    };
    let period = libc::timeval {
        tv_sec: 0,
        tv_usec: usec as libc::suseconds_t,
    };
    let timer = libc::itimerval {
        it_interval: period,
        it_value: period,
    };
    // SAFETY: a valid itimerval; the old value is not asked for.
    if unsafe { libc::setitimer(libc::ITIMER_PROF, &timer, std::ptr::null_mut()) } != 0 {
        return Err(format!(
            "cannot set the profiling timer: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// The `SIGPROF` handler. Async-signal-safe: atomics, two system calls
/// (`gettid`, `prctl(PR_GET_NAME)`), a load from a `const` thread-local
/// (the labels) and libgcc's unwinder, which on this
/// platform takes no lock and allocates nothing (see
/// [`super::BLOCKLIST`] for where that does not hold, and why those
/// samples are dropped); errno is preserved for the interrupted code.
extern "C" fn handler(
    _signal: libc::c_int,
    _info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    if !ACTIVE.load(Ordering::Acquire) {
        return;
    }
    let _errno = SavedErrno::save();
    // SAFETY: the kernel's context for this signal.
    let pc = unsafe { interrupted_pc(context) };
    if pc == 0 || blocked(pc) {
        SKIPPED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let slot = &TABLE[NEXT.fetch_add(1, Ordering::Relaxed) % SLOTS];
    if slot
        .state
        .compare_exchange(FREE, WRITING, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        LOST.fetch_add(1, Ordering::Relaxed);
        return;
    }
    // SAFETY: this thread moved the slot to WRITING: it alone writes it.
    let raw = unsafe { &mut *slot.data.get() };
    raw.pc = pc;
    (raw.tid, raw.name) = tid_and_name();
    raw.labels = crate::labels::current_id();
    // SAFETY: not inside a blocklisted library (checked above).
    raw.depth = unsafe { walk(&mut raw.ips) };
    slot.state.store(FULL, Ordering::Release);
    TAKEN.fetch_add(1, Ordering::Relaxed);
}
