//! Where contention events go: two tables keyed by call stack (with the
//! waiting threads as a bounded label), and the code that turns a table
//! into a pprof profile.

use std::cell::{Cell, OnceCell};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, LazyLock};
use std::time::{Instant, SystemTime};

use crate::proto as protos;
use crate::stacks;

use super::{BLOCK_RATE, MUTEX_FRACTION};
use crate::profile::Recorded;

/// Distinct stacks kept per profile.
pub const MAX_STACKS: usize = 4096;
/// Frames kept per stack, counted from the innermost.
pub const MAX_DEPTH: usize = 64;
/// Thread names told apart per stack; the waits of further threads on the
/// same stack are labelled [`OTHER_THREADS`]. A program that names every
/// thread uniquely thus still fits its stacks in the table.
pub const MAX_THREADS_PER_STACK: usize = 16;
/// The `thread` label of waits beyond [`MAX_THREADS_PER_STACK`].
pub const OTHER_THREADS: &str = "(other threads)";

/// The name shown for events that arrived after the table was full.
const OVERFLOW_FRAME: &str = "labkit::contention::stack_table_full";

/// Return addresses, innermost first; symbolised only when written.
type Stack = Arc<[usize]>;
/// A thread's name, shared by every event of that thread.
type ThreadName = Option<Arc<str>>;
/// Who waited (or made others wait): the thread's name and the labels its
/// code ran under ([`crate::labels`]).
type Who = (ThreadName, u32);

#[derive(Clone, Copy, Default)]
struct Totals {
    count: f64,
    delay_ns: f64,
}

impl Totals {
    fn add(&mut self, count: f64, delay_ns: f64) {
        self.count += count;
        self.delay_ns += delay_ns;
    }
}

/// One stack's totals, split by thread: at most [`MAX_THREADS_PER_STACK`]
/// names, and the rest together.
#[derive(Clone, Default)]
struct Entry {
    threads: Vec<(Who, Totals)>,
    other_threads: Totals,
}

impl Entry {
    fn add(&mut self, thread: Who, count: f64, delay_ns: f64) {
        if let Some((_, totals)) = self.threads.iter_mut().find(|(t, _)| *t == thread) {
            totals.add(count, delay_ns);
        } else if self.threads.len() < MAX_THREADS_PER_STACK {
            let mut totals = Totals::default();
            totals.add(count, delay_ns);
            self.threads.push((thread, totals));
        } else {
            self.other_threads.add(count, delay_ns);
        }
    }
}

struct Table {
    limit: usize,
    entries: HashMap<Stack, Entry>,
    overflow: Totals,
    since: SystemTime,
    since_instant: Instant,
}

impl Table {
    fn new() -> Table {
        Table {
            limit: MAX_STACKS,
            entries: HashMap::new(),
            overflow: Totals::default(),
            since: SystemTime::now(),
            since_instant: Instant::now(),
        }
    }
}

// The tables are guarded by plain parking_lot locks, never by the profiled
// wrappers, so recording can never wait on a lock it is itself recording.
static BLOCK: LazyLock<parking_lot::Mutex<Table>> =
    LazyLock::new(|| parking_lot::Mutex::new(Table::new()));
static MUTEX: LazyLock<parking_lot::Mutex<Table>> =
    LazyLock::new(|| parking_lot::Mutex::new(Table::new()));

thread_local! {
    /// Set while this thread is inside the recorder: an event raised from
    /// there (say, by a profiled lock taken in a panic hook) is not
    /// recorded, so the recorder never re-enters itself.
    static RECORDING: Cell<bool> = const { Cell::new(false) };
    static RNG: Cell<u64> = const { Cell::new(0) };
    static THREAD_NAME: OnceCell<ThreadName> = const { OnceCell::new() };
}

/// A cheap per-thread random number (xorshift64*), for sampling decisions.
fn random() -> u64 {
    RNG.with(|rng| {
        let mut x = rng.get();
        if x == 0 {
            // Seed from this thread's stack address and the clock.
            let local = 0u8;
            x = (&local as *const u8 as u64) ^ super::lock::now_ns().rotate_left(32) | 1;
        }
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        rng.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

/// A wait about to begin, with its sampling decision drawn already: the
/// wait will be kept if it lasts longer than `threshold`, a number drawn
/// uniformly below the rate. A wait of `d ≥ rate` ns is thus always kept,
/// a shorter one with probability `d / rate`, as Go ≥ 1.17 samples. Only a
/// kept wait walks its stack, and the stack at the wait site is the same
/// before the wait and after it.
pub(super) struct PendingWait(Option<Sampled>);

struct Sampled {
    rate: u64,
    threshold: u64,
    /// The waiter's stack, if it was walked while the thread still waited.
    stack: Option<Stack>,
}

impl PendingWait {
    /// How long the wait may last and still be dropped: `None` when the
    /// block profile is off, `Some(0)` when every wait is kept (rate 1).
    pub(super) fn threshold_ns(&self) -> Option<u64> {
        self.0.as_ref().map(|s| s.threshold)
    }

    /// The wait has outlasted its threshold, so it will be kept: walk the
    /// stack now, while the thread waits anyway, rather than after, when it
    /// may hold the lock it waited for.
    pub(super) fn walk_now(&mut self) {
        if let Some(sampled) = &mut self.0 {
            sampled.stack = current_stack();
        }
    }
}

// ANCHOR: block_event
/// Call when a thread is about to wait. If the block profile is on, draws
/// the wait's threshold, uniformly below the rate: the wait will be kept
/// if it outlasts it, always when it lasts the rate or more, with
/// probability `d / rate` when it lasts `d` ns less. No clock, no stack.
pub(super) fn before_wait() -> PendingWait {
    let rate = BLOCK_RATE.load(Ordering::Relaxed);
    if rate == 0 {
        return PendingWait(None);
    }
    let threshold = random() % rate;
    PendingWait(Some(Sampled {
        rate,
        threshold,
        stack: None,
    }))
}

/// A thread waited `wait_ns` for a lock or a channel: record it in the
/// block profile if the wait outlasted its threshold, on the waiter's
/// stack (walked now unless [`PendingWait::walk_now`] walked it already).
pub(super) fn block_event(pending: PendingWait, wait_ns: u64) {
    let Some(sampled) = pending.0 else { return };
    let d = wait_ns.max(1);
    if d <= sampled.threshold || BLOCK_RATE.load(Ordering::Relaxed) == 0 {
        return; // dropped, and no stack was walked for it
    }
    let Some(stack) = sampled.stack.or_else(current_stack) else {
        return;
    };
    let rate = sampled.rate;
    if d >= rate {
        add(&BLOCK, stack, 1.0, d as f64);
    } else {
        // Kept with probability d/rate, so it stands for rate/d such waits,
        // whose delays add up to `rate` on average (Go ≥ 1.17).
        add(&BLOCK, stack, rate as f64 / d as f64, rate as f64);
    }
}
// ANCHOR_END: block_event

/// A contended release made waiters wait `delay_ns` in all: maybe record it
/// in the mutex profile, on the current (the releaser's) stack. Called
/// after the lock is released. The decision comes first: only a kept
/// release walks its stack.
pub(super) fn mutex_event(delay_ns: u64) {
    let n = MUTEX_FRACTION.load(Ordering::Relaxed);
    if n == 0 || !random().is_multiple_of(n) {
        return;
    }
    if let Some(stack) = current_stack() {
        add(&MUTEX, stack, n as f64, delay_ns as f64 * n as f64);
    }
}

/// Call right after a call that records an event, in the wrappers' inlined
/// code: it keeps that call out of tail position. A function whose last act
/// is taking or releasing a lock would otherwise jump to the recorder
/// instead of calling it, leave the stack before the walk, and have its
/// delay charged to its caller.
#[inline(always)]
pub(super) fn keep_callers_frame() {
    std::hint::black_box(());
}

/// Clears the re-entry flag however the recorder is left, panics included.
struct Recording;

impl Drop for Recording {
    fn drop(&mut self) {
        RECORDING.with(|r| r.set(false));
    }
}

/// This thread's stack, or `None` when called from inside the recorder
/// itself.
fn current_stack() -> Option<Stack> {
    if RECORDING.with(|r| r.replace(true)) {
        return None;
    }
    let _recording = Recording;
    let mut ips = Vec::with_capacity(32);
    walk(|ip| {
        ips.push(ip);
        ips.len() < MAX_DEPTH
    });
    Some(ips.into())
}

/// Walks this thread's stack without backtrace-rs's process-wide lock.
/// That lock also guards the symboliser, which holds it for as long as it
/// loads the program's debug information (a second or more in a debug
/// build) when a profile is written: a wait that had to take it would
/// stall behind the profile. On Linux the walk is libgcc's
/// `_Unwind_Backtrace`, which shares nothing with the symboliser and is
/// safe on any number of threads at once; elsewhere the lock stays.
fn walk(mut each: impl FnMut(usize) -> bool) {
    #[cfg(target_os = "linux")]
    #[allow(unsafe_code)]
    // SAFETY: on Linux, backtrace-rs walks with `_Unwind_Backtrace`
    // (backtrace-0.3 `src/backtrace/libunwind.rs`), which keeps no state of
    // backtrace-rs's own; the lock `trace` adds serialises dbghelp on
    // Windows and the symbol cache, neither of which a walk touches here.
    unsafe {
        backtrace::trace_unsynchronized(|frame| each(frame.ip() as usize));
    }
    #[cfg(not(target_os = "linux"))]
    backtrace::trace(|frame| each(frame.ip() as usize));
}

/// This thread's name, looked up once per thread.
fn thread_name() -> ThreadName {
    THREAD_NAME.with(|name| {
        name.get_or_init(|| std::thread::current().name().map(Arc::from))
            .clone()
    })
}

fn add(table: &parking_lot::Mutex<Table>, stack: Stack, count: f64, delay_ns: f64) {
    let who = (thread_name(), crate::labels::current_id());
    table.lock().add(stack, who, count, delay_ns);
    #[cfg(test)]
    tests::RECORDED.fetch_add(1, Ordering::Relaxed);
}

impl Table {
    fn add(&mut self, stack: Stack, thread: Who, count: f64, delay_ns: f64) {
        let full = self.entries.len() >= self.limit;
        match self.entries.get_mut(&stack) {
            Some(entry) => entry.add(thread, count, delay_ns),
            None if !full => self
                .entries
                .entry(stack)
                .or_default()
                .add(thread, count, delay_ns),
            None => self.overflow.add(count, delay_ns),
        }
    }
}

/// Makes sure both tables exist, so a profile's duration counts from the
/// moment profiling was first turned on.
pub(super) fn started() {
    LazyLock::force(&BLOCK);
    LazyLock::force(&MUTEX);
    EVER_STARTED.store(true, Ordering::Relaxed);
}

/// Whether either profile was ever turned on in this process.
static EVER_STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Bumped by [`reset`]: waiting a lock accrued before a reset is not
/// charged to a release after it.
pub(super) static GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Forgets every recorded event of both profiles.
pub fn reset() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
    *BLOCK.lock() = Table::new();
    *MUTEX.lock() = Table::new();
}

/// The block profile so far: where threads waited, and for how long.
pub fn block_profile() -> Recorded {
    build(&BLOCK, "block")
}

/// The mutex profile so far: which releases of contended locks kept others
/// waiting, and for how long.
pub fn mutex_profile() -> Recorded {
    build(&MUTEX, "mutex")
}

fn build(table: &parking_lot::Mutex<Table>, name: &'static str) -> Recorded {
    // Copy under the lock (the stacks are shared, not copied); symbolise
    // (slow) outside it, so no waiter ever waits for the symboliser.
    let (entries, overflow, since, elapsed) = {
        let t = table.lock();
        let entries: Vec<(Stack, Entry)> = t
            .entries
            .iter()
            .map(|(k, v)| (Arc::clone(k), v.clone()))
            .collect();
        (entries, t.overflow, t.since, t.since_instant.elapsed())
    };
    let mut b = stacks::Builder::new();
    for (stack, entry) in &entries {
        let locations = b.stack(stack, &recorder_symbols);
        for ((thread, labels), totals) in &entry.threads {
            sample(
                &mut b,
                locations.clone(),
                *totals,
                thread.as_deref(),
                *labels,
            );
        }
        if entry.other_threads.count > 0.0 {
            sample(
                &mut b,
                locations,
                entry.other_threads,
                Some(OTHER_THREADS),
                0,
            );
        }
    }
    if overflow.count > 0.0 {
        let location = b.synthetic_location(OVERFLOW_FRAME);
        sample(&mut b, vec![location], overflow, None, 0);
    }
    let contentions = b.value_type("contentions", "count");
    let delay = b.value_type("delay", "nanoseconds");
    let proto = protos::Profile {
        sample_type: vec![contentions, delay],
        time_nanos: since
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64),
        // Time since the profile was turned on (or reset); nothing to
        // say for a profile that was never turned on.
        duration_nanos: if EVER_STARTED.load(Ordering::Relaxed) {
            elapsed.as_nanos() as i64
        } else {
            0
        },
        period_type: Some(contentions),
        period: 1,
        ..b.finish()
    };
    stacks::release_symbols();
    Recorded::new(proto, name, 1).expect("labkit builds only valid profiles")
}

fn sample(
    b: &mut stacks::Builder,
    location_id: Vec<u64>,
    totals: Totals,
    thread: Option<&str>,
    labels: u32,
) {
    let mut label: Vec<protos::Label> = thread
        .map(|name| b.label("thread", name))
        .into_iter()
        .collect();
    label.extend(crate::labels::proto_labels(b, labels));
    b.samples.push(protos::Sample {
        location_id,
        value: vec![totals.count.round() as i64, totals.delay_ns.round() as i64],
        label,
    });
}

/// The recorder's and the wrappers' own symbols at the innermost end of a
/// stack, and the drop glue (`drop(guard)`, `drop_in_place`) that called
/// into them: the profile starts at the user's call.
fn recorder_symbols(names: &[&str]) -> usize {
    let Some(last) = names.iter().rposition(|n| is_internal(n)) else {
        return 0;
    };
    let mut keep_from = last + 1;
    while keep_from < names.len() && is_drop_glue(names[keep_from]) {
        keep_from += 1;
    }
    keep_from
}

/// Frames of the recorder and the wrappers themselves, at the innermost end
/// of every stack. The profile starts at the user's call.
fn is_internal(name: &str) -> bool {
    // This module's own tests call the wrappers like any user would.
    if name.starts_with("labkit::contention::tests::") {
        return false;
    }
    [
        "backtrace::",
        "labkit::contention::",
        "<labkit::contention::",
        "core::ptr::drop_in_place<labkit::contention::",
        "core::mem::drop<labkit::contention::",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

/// The compiler's drop calls between user code and a guard's `Drop`.
fn is_drop_glue(name: &str) -> bool {
    name.starts_with("core::mem::drop") || name.starts_with("core::ptr::drop_in_place")
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    /// Events that reached a table, for the tests that count them.
    pub(in crate::contention) static RECORDED: AtomicU64 = AtomicU64::new(0);

    fn stack(n: usize) -> Stack {
        vec![n].into()
    }

    fn count(entry: &Entry) -> f64 {
        entry.threads.iter().map(|(_, t)| t.count).sum::<f64>() + entry.other_threads.count
    }

    #[test]
    fn a_full_table_folds_new_stacks_into_one_entry_and_loses_nothing() {
        let mut t = Table::new();
        t.limit = 2;
        for n in 0..5 {
            t.add(stack(n), (None, 0), 1.0, 10.0);
        }
        t.add(stack(0), (None, 0), 1.0, 10.0);
        assert_eq!(t.entries.len(), 2);
        assert_eq!(count(&t.entries[&stack(0)]), 2.0);
        assert_eq!(t.overflow.count, 3.0);
        assert_eq!(t.overflow.delay_ns, 30.0);
    }

    /// A thousand uniquely named threads waiting at one place take one
    /// entry, not a thousand: the thread is a label of the stack, and the
    /// labels a stack keeps are bounded.
    #[test]
    fn uniquely_named_threads_on_one_stack_take_one_entry() {
        let mut t = Table::new();
        t.limit = 2;
        for n in 0..1_000 {
            t.add(stack(7), (Some(format!("conn-{n}").into()), 0), 1.0, 10.0);
        }
        t.add(stack(8), (Some("conn-0".into()), 0), 1.0, 10.0);
        assert_eq!(t.entries.len(), 2, "one entry per stack");
        assert_eq!(t.overflow.count, 0.0, "nothing lost its stack");
        let entry = &t.entries[&stack(7)];
        assert_eq!(entry.threads.len(), MAX_THREADS_PER_STACK);
        assert_eq!(count(entry), 1_000.0);
        assert_eq!(
            entry.other_threads.count,
            (1_000 - MAX_THREADS_PER_STACK) as f64
        );
    }

    #[test]
    fn internal_frames_are_recognised() {
        assert!(is_internal("labkit::contention::record::record"));
        assert!(is_internal(
            "<labkit::contention::lock::MutexGuard<u64> as core::ops::drop::Drop>::drop"
        ));
        assert!(is_internal(
            "core::ptr::drop_in_place<labkit::contention::lock::MutexGuard<u64>>"
        ));
        assert!(!is_internal("lab_086::record_stats"));
        assert!(!is_internal("core::ptr::drop_in_place<lab_086::Stats>"));
    }
}
