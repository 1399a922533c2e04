//! Every thread's stack, now: the OS-thread half of Go's goroutine dump.
//!
//! Go's runtime knows every goroutine and can stop them to walk their
//! stacks. A Rust program's threads are the kernel's, and a thread's stack
//! can only be walked from inside that thread. So the dumper asks each
//! thread in turn by a signal (`tgkill`), and the thread, wherever it was,
//! walks its own stack in the handler and leaves the return addresses in a
//! slot of a fixed table, as the CPU sampler does: no allocation and no
//! lock in the handler. Names, states and symbols are read afterwards,
//! outside any signal.
//!
//! The signal is `SIGURG`, the one Go's runtime uses to preempt goroutines
//! for the same reasons (its `runtime/signal_unix.go` lists them): nothing
//! else uses it, and a stray one is ignored by default rather than fatal.
//!
//! A thread that does not answer (its signals blocked, or stuck in the
//! kernel) does not hang the dump: after [`ANSWER_WITHIN`] it is listed
//! with its kernel state and no frames, and a late answer is discarded.

#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::Error;
use crate::signal_walk::{SavedErrno, block_ranges, blocked, interrupted_pc, walk, walk_once};

/// The signal each thread is asked with.
pub const SIGNAL: libc::c_int = libc::SIGURG;
/// How long every thread of one batch has to answer.
pub const ANSWER_WITHIN: Duration = Duration::from_millis(500);
/// Frames kept per thread, from the innermost: Go's traceback prints up
/// to 100.
pub const MAX_DEPTH: usize = 100;
/// The handler's own frames and the signal trampoline come first.
const WALK_DEPTH: usize = MAX_DEPTH + 16;
/// Threads asked at once; more are asked in batches.
const SLOTS: usize = 256;
/// Marks a request whose thread is writing its answer.
const WRITING: u64 = 1 << 63;

/// One thread of the process, as the dump found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadStack {
    /// The kernel's thread id (`gettid`).
    pub tid: u32,
    /// The name the kernel knows (at most 15 bytes: Rust's `Builder::name`
    /// is cut there).
    pub name: String,
    /// What the kernel said it was doing just before it was asked.
    pub kernel: KernelState,
    /// Return addresses, innermost first; the innermost is the
    /// interrupted instruction's address plus one, as in a CPU sample.
    /// Empty when the thread did not answer (see `missing`).
    pub ips: Vec<usize>,
    /// Why there are no frames, if there are none.
    pub missing: Option<String>,
    /// The labels the thread's code ran under ([`crate::labels`]), read
    /// on the thread with its stack.
    pub labels: crate::labels::LabelSet,
}

/// A thread's state from `/proc/self/task/TID/stat` and `…/syscall`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelState {
    /// `R` running or ready, `S` sleeping (waiting for something), `D`
    /// in an uninterruptible wait (disk), `T` stopped, …
    pub state: char,
    /// The system call the thread is blocked in, by number, if any.
    pub syscall: Option<i64>,
}

struct Slot {
    /// 0: free; otherwise the request `(generation << 32) | tid`, with
    /// [`WRITING`] set once the thread has taken it.
    ask: AtomicU64,
    /// The request answered, once its frames are written.
    done: AtomicU64,
    data: UnsafeCell<Raw>,
}

#[derive(Clone, Copy)]
struct Raw {
    pc: usize,
    labels: u32,
    depth: usize,
    ips: [usize; WALK_DEPTH],
}

// SAFETY: `data` is written only by the thread that moved `ask` from its
// request to WRITING, and read only by the dumper after it saw `done`
// equal that request (Acquire, paired with the writer's Release); the slot
// gets a new request only after the dumper has read it.
unsafe impl Sync for Slot {}

static TABLE: [Slot; SLOTS] = [const {
    Slot {
        ask: AtomicU64::new(0),
        done: AtomicU64::new(0),
        data: UnsafeCell::new(Raw {
            pc: 0,
            labels: 0,
            depth: 0,
            ips: [0; WALK_DEPTH],
        }),
    }
}; SLOTS];
static GENERATION: AtomicU32 = AtomicU32::new(0);
/// One dump at a time.
static DUMPING: Mutex<()> = Mutex::new(());

/// Every thread of the process, each walked on itself; the calling thread
/// comes first. Threads that do not answer within `answer_within` are
/// listed without frames.
pub fn capture(answer_within: Duration) -> Result<Vec<ThreadStack>, Error> {
    let _one = DUMPING.lock().unwrap_or_else(|e| e.into_inner());
    install_handler().map_err(Error::new)?;
    block_ranges(crate::capture::BLOCKLIST);
    walk_once();
    let me = crate::signal_walk::tid_and_name().0;
    let tids = threads()?;
    let mut stacks = vec![own_stack(me)];
    let others: Vec<u32> = tids.into_iter().filter(|&t| t != me).collect();
    for batch in others.chunks(SLOTS) {
        ask_batch(batch, answer_within, &mut stacks);
    }
    Ok(stacks)
}

/// The thread ids of this process, from `/proc/self/task`.
fn threads() -> Result<Vec<u32>, Error> {
    let entries = std::fs::read_dir("/proc/self/task")
        .map_err(|e| Error::io("cannot list this process's threads (/proc/self/task)", e))?;
    let mut tids: Vec<u32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    tids.sort_unstable();
    Ok(tids)
}

fn own_stack(tid: u32) -> ThreadStack {
    let mut ips = Vec::new();
    backtrace::trace(|frame| {
        let ip = frame.ip() as usize;
        if ip != 0 {
            ips.push(ip);
        }
        ip != 0 && ips.len() < WALK_DEPTH
    });
    ThreadStack {
        tid,
        name: thread_name(tid),
        kernel: KernelState {
            state: 'R',
            syscall: None,
        },
        ips,
        missing: None,
        labels: crate::labels::current(),
    }
}

fn ask_batch(batch: &[u32], answer_within: Duration, stacks: &mut Vec<ThreadStack>) {
    let generation = u64::from(GENERATION.fetch_add(1, Ordering::Relaxed) & 0x7fff_ffff);
    // SAFETY: plain system call.
    let pid = unsafe { libc::getpid() };
    let mut asked = Vec::with_capacity(batch.len());
    for (slot, &tid) in TABLE.iter().zip(batch) {
        // Before the signal wakes it: what the thread was doing.
        let kernel = kernel_state(tid);
        let name = thread_name(tid);
        let ticket = (generation << 32) | u64::from(tid);
        slot.done.store(0, Ordering::Relaxed);
        slot.ask.store(ticket, Ordering::Release);
        // SAFETY: plain system call on a thread of this process.
        let sent = unsafe { libc::syscall(libc::SYS_tgkill, pid, tid as libc::pid_t, SIGNAL) };
        if sent != 0 {
            // Gone since it was listed (or refused): nothing to wait for.
            slot.ask.store(0, Ordering::Release);
            continue;
        }
        asked.push((slot, ticket, tid, name, kernel));
    }
    let deadline = Instant::now() + answer_within;
    while Instant::now() < deadline
        && asked
            .iter()
            .any(|(slot, ticket, ..)| slot.done.load(Ordering::Acquire) != *ticket)
    {
        std::thread::sleep(Duration::from_micros(200));
    }
    for (slot, ticket, tid, name, kernel) in asked {
        let answered = slot.done.load(Ordering::Acquire) == ticket
            || (slot
                .ask
                .compare_exchange(ticket, 0, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
                && finishing(slot, ticket));
        let (ips, missing, labels) = if answered {
            // SAFETY: `done` is this request, seen with Acquire: the
            // writer is finished and nothing writes until the next request.
            let raw = unsafe { *slot.data.get() };
            let (ips, missing) = frames(&raw);
            (ips, missing, crate::labels::LabelSet::from_id(raw.labels))
        } else {
            (
                Vec::new(),
                Some(format!(
                    "did not answer within {answer_within:?} (signals blocked, or stuck in the kernel)"
                )),
                crate::labels::LabelSet::empty(),
            )
        };
        slot.ask.store(0, Ordering::Release);
        stacks.push(ThreadStack {
            tid,
            name,
            kernel,
            ips,
            missing,
            labels,
        });
    }
}

/// The thread took the request just as the wait ended: its walk takes
/// microseconds, so wait for it (a little).
fn finishing(slot: &Slot, ticket: u64) -> bool {
    for _ in 0..1000 {
        if slot.done.load(Ordering::Acquire) == ticket {
            return true;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    false
}

/// The frames of an answer, from the interrupted instruction outwards.
fn frames(raw: &Raw) -> (Vec<usize>, Option<String>) {
    if raw.depth == 0 {
        return (
            Vec::new(),
            Some("interrupted inside the unwinder: its stack cannot be walked now".into()),
        );
    }
    let walked = &raw.ips[..raw.depth.min(WALK_DEPTH)];
    match walked.iter().position(|&ip| ip == raw.pc) {
        Some(from) if raw.pc != 0 => {
            // The unwinder may end a stack with a null return address.
            let mut ips: Vec<usize> = walked[from..]
                .iter()
                .copied()
                .take_while(|&ip| ip != 0)
                .take(MAX_DEPTH)
                .collect();
            ips[0] = ips[0].wrapping_add(1);
            (ips, None)
        }
        _ => (
            Vec::new(),
            Some("the walk did not pass the interrupted instruction".into()),
        ),
    }
}

fn thread_name(tid: u32) -> String {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
        .map(|s| s.trim_end().to_string())
        .unwrap_or_default()
}

fn kernel_state(tid: u32) -> KernelState {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap_or_default();
    // The name in parentheses may hold anything: the state follows the
    // last `)`.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next())
        .unwrap_or('?');
    let syscall = std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok());
    KernelState { state, syscall }
}

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
                // The CPU sampler's walk must not start on top of this one.
                libc::sigaddset(&mut action.sa_mask, libc::SIGPROF);
                if libc::sigaction(SIGNAL, &action, std::ptr::null_mut()) != 0 {
                    return Err(format!(
                        "cannot install the thread dump's signal handler: {}",
                        std::io::Error::last_os_error()
                    ));
                }
            }
            Ok(())
        })
        .clone()
}

/// The handler: finds this thread's request, walks, answers.
/// Async-signal-safe: atomics, `gettid`, and the unwinder (see
/// [`crate::signal_walk::walk`]); errno is kept.
extern "C" fn handler(
    _signal: libc::c_int,
    _info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    let _errno = SavedErrno::save();
    // SAFETY: plain system call.
    let tid = u64::from(unsafe { libc::syscall(libc::SYS_gettid) } as u32);
    for slot in &TABLE {
        let ticket = slot.ask.load(Ordering::Acquire);
        if ticket == 0 || ticket & WRITING != 0 || ticket & 0xffff_ffff != tid {
            continue;
        }
        if slot
            .ask
            .compare_exchange(
                ticket,
                ticket | WRITING,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_err()
        {
            return;
        }
        // SAFETY: this thread moved the request to WRITING: it alone
        // writes the slot until `done` says so.
        let raw = unsafe { &mut *slot.data.get() };
        // SAFETY: the kernel's context for this signal.
        raw.pc = unsafe { interrupted_pc(context) };
        raw.labels = crate::labels::current_id();
        raw.depth = if raw.pc == 0 || blocked(raw.pc) {
            0
        } else {
            // SAFETY: not inside a blocklisted library (checked above).
            unsafe { walk(&mut raw.ips) }
        };
        slot.done.store(ticket, Ordering::Release);
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_thread_answers_with_its_own_stack() {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let parked = std::thread::Builder::new()
            .name("dump-me".into())
            .spawn(move || {
                let tid = crate::signal_walk::tid_and_name().0;
                ready_tx.send(tid).unwrap();
                let _ = stop_rx.recv();
            })
            .unwrap();
        let tid = ready_rx.recv().unwrap();
        wait_until_asleep(tid);
        let stacks = capture(ANSWER_WITHIN).unwrap();
        stop_tx.send(()).unwrap();
        parked.join().unwrap();
        let found = stacks.iter().find(|s| s.tid == tid).expect("listed");
        assert_eq!(found.name, "dump-me");
        assert_eq!(found.missing, None);
        assert!(!found.ips.is_empty());
        // The parked thread's frames pass through this test's closure.
        let mut names = Vec::new();
        for &ip in &found.ips {
            backtrace::resolve(ip as *mut std::ffi::c_void, |s| {
                names.push(s.name().map(|n| format!("{n:#}")).unwrap_or_default());
            });
        }
        assert!(
            names
                .iter()
                .any(|n| n.contains("every_thread_answers_with_its_own_stack")),
            "{names:#?}"
        );
        assert!(names.iter().any(|n| n.contains("recv")), "{names:#?}");
        // And it kept waiting: the signal did not end its `recv`.
        assert_eq!(stacks[0].tid, crate::signal_walk::tid_and_name().0);
    }

    /// Until the thread sleeps in the kernel: in its `recv`, not on its
    /// way there.
    fn wait_until_asleep(tid: u32) {
        let started = Instant::now();
        while kernel_state(tid).state != 'S' {
            assert!(started.elapsed() < Duration::from_secs(30), "never slept");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn a_thread_with_the_signal_blocked_is_listed_without_frames() {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let deaf = std::thread::spawn(move || {
            // SAFETY: blocks one signal on this thread only.
            unsafe {
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, SIGNAL);
                libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            }
            ready_tx.send(crate::signal_walk::tid_and_name().0).unwrap();
            let _ = stop_rx.recv();
        });
        let tid = ready_rx.recv().unwrap();
        let started = Instant::now();
        let stacks = capture(Duration::from_millis(100)).unwrap();
        let took = started.elapsed();
        stop_tx.send(()).unwrap();
        deaf.join().unwrap();
        let found = stacks.iter().find(|s| s.tid == tid).expect("listed");
        assert!(found.ips.is_empty());
        assert!(
            found
                .missing
                .as_deref()
                .unwrap_or("")
                .contains("did not answer"),
            "{found:?}"
        );
        assert!(took < Duration::from_secs(5), "{took:?}");
    }
}
