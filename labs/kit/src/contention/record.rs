//! Where contention events go: two tables keyed by (thread, call stack), and
//! the code that turns a table into a pprof profile.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::LazyLock;
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime};

use pprof::protos;

use super::{BLOCK_RATE, MUTEX_FRACTION};
use crate::profile::Recorded;

/// Distinct (thread, stack) entries kept per profile.
pub const MAX_STACKS: usize = 4096;
/// Frames kept per stack, counted from the innermost.
pub const MAX_DEPTH: usize = 64;

/// The name shown for events that arrived after the table was full.
const OVERFLOW_FRAME: &str = "labkit::contention::stack_table_full";

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    thread: Option<Box<str>>,
    /// Return addresses, innermost first; symbolised only when written.
    ips: Box<[usize]>,
}

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

struct Table {
    limit: usize,
    entries: HashMap<Key, Totals>,
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

/// The waiter's stack, taken on the way into a wait — while the thread
/// has nothing better to do — and recorded once the wait's length is known.
/// The stack walk (microseconds) then never lengthens the time the waiter
/// holds the lock it waited for.
pub(super) struct PendingWait(Option<Key>);

/// Call when a thread is about to wait: takes its stack if the block
/// profile is on.
pub(super) fn before_wait() -> PendingWait {
    if BLOCK_RATE.load(Ordering::Relaxed) == 0 {
        return PendingWait(None);
    }
    PendingWait(current_stack())
}

// ANCHOR: block_event
/// A thread waited `wait_ns` for a lock or a channel: maybe record it in
/// the block profile, on the waiter's stack taken by [`before_wait`].
pub(super) fn block_event(pending: PendingWait, wait_ns: u64) {
    let rate = BLOCK_RATE.load(Ordering::Relaxed);
    let Some(key) = pending.0 else { return };
    if rate == 0 {
        return;
    }
    let d = wait_ns.max(1);
    if d >= rate {
        add(&BLOCK, key, 1.0, d as f64);
    } else if random() % rate < d {
        // Kept with probability d/rate, so it stands for rate/d such waits,
        // whose delays add up to `rate` on average (Go ≥ 1.17).
        add(&BLOCK, key, rate as f64 / d as f64, rate as f64);
    }
}
// ANCHOR_END: block_event

/// A contended release made waiters wait `delay_ns` in all: maybe record it
/// in the mutex profile, on the current (the releaser's) stack. Called
/// after the lock is released.
pub(super) fn mutex_event(delay_ns: u64) {
    let n = MUTEX_FRACTION.load(Ordering::Relaxed);
    if n == 0 || !random().is_multiple_of(n) {
        return;
    }
    if let Some(key) = current_stack() {
        add(&MUTEX, key, n as f64, delay_ns as f64 * n as f64);
    }
}

/// Clears the re-entry flag however the recorder is left, panics included.
struct Recording;

impl Drop for Recording {
    fn drop(&mut self) {
        RECORDING.with(|r| r.set(false));
    }
}

/// This thread's name and stack, or `None` when called from inside the
/// recorder itself.
fn current_stack() -> Option<Key> {
    if RECORDING.with(|r| r.replace(true)) {
        return None;
    }
    let _recording = Recording;
    let mut ips = Vec::with_capacity(32);
    backtrace::trace(|frame| {
        ips.push(frame.ip() as usize);
        ips.len() < MAX_DEPTH
    });
    Some(Key {
        thread: std::thread::current().name().map(Box::from),
        ips: ips.into_boxed_slice(),
    })
}

fn add(table: &parking_lot::Mutex<Table>, key: Key, count: f64, delay_ns: f64) {
    table.lock().add(key, count, delay_ns);
    #[cfg(test)]
    tests::RECORDED.fetch_add(1, Ordering::Relaxed);
}

impl Table {
    fn add(&mut self, key: Key, count: f64, delay_ns: f64) {
        let full = self.entries.len() >= self.limit;
        match self.entries.get_mut(&key) {
            Some(totals) => totals.add(count, delay_ns),
            None if !full => {
                self.entries.insert(key, Totals { count, delay_ns });
            }
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
    // Copy under the lock; symbolise (slow) outside it.
    let (entries, overflow, since, elapsed) = {
        let t = table.lock();
        let entries: Vec<(Key, Totals)> = t.entries.iter().map(|(k, v)| (k.clone(), *v)).collect();
        (entries, t.overflow, t.since, t.since_instant.elapsed())
    };
    let mut b = ProtoBuilder::default();
    b.string("");
    for (key, totals) in &entries {
        let locations = b.stack(&key.ips);
        b.sample(locations, *totals, key.thread.as_deref());
    }
    if overflow.count > 0.0 {
        let location = b.synthetic_location(OVERFLOW_FRAME);
        b.sample(vec![location], overflow, None);
    }
    let proto = b.finish(since, elapsed);
    Recorded::new(proto, name, 1).expect("labkit builds only valid profiles")
}

/// One resolved frame: a function (maybe inlined), its file and line.
#[derive(Clone)]
struct Symbol {
    name: String,
    file: String,
    line: i64,
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

#[derive(Default)]
struct ProtoBuilder {
    strings: Vec<String>,
    string_ids: HashMap<String, i64>,
    functions: Vec<protos::Function>,
    function_ids: HashMap<(String, String), u64>,
    locations: Vec<protos::Location>,
    /// (address, inlined frames skipped at the innermost end) → location.
    location_ids: HashMap<(usize, usize), u64>,
    resolved: HashMap<usize, Vec<Symbol>>,
    samples: Vec<protos::Sample>,
}

impl ProtoBuilder {
    fn string(&mut self, s: &str) -> i64 {
        if let Some(id) = self.string_ids.get(s) {
            return *id;
        }
        let id = self.strings.len() as i64;
        self.strings.push(s.to_string());
        self.string_ids.insert(s.to_string(), id);
        id
    }

    fn function(&mut self, name: &str, file: &str) -> u64 {
        let key = (name.to_string(), file.to_string());
        if let Some(id) = self.function_ids.get(&key) {
            return *id;
        }
        let id = self.functions.len() as u64 + 1;
        let (name, file) = (self.string(name), self.string(file));
        self.functions.push(protos::Function {
            id,
            name,
            system_name: name,
            filename: file,
            ..Default::default()
        });
        self.function_ids.insert(key, id);
        id
    }

    fn resolve(&mut self, ip: usize) -> Vec<Symbol> {
        if let Some(symbols) = self.resolved.get(&ip) {
            return symbols.clone();
        }
        let mut symbols = Vec::new();
        // A return address points after the call; the call is one byte back.
        backtrace::resolve(ip.saturating_sub(1) as *mut std::ffi::c_void, |sym| {
            symbols.push(Symbol {
                name: sym
                    .name()
                    .map_or_else(|| format!("{ip:#x}"), |n| format!("{n:#}")),
                file: sym
                    .filename()
                    .map_or_else(String::new, |f| f.display().to_string()),
                line: sym.lineno().map_or(0, i64::from),
            });
        });
        if symbols.is_empty() {
            symbols.push(Symbol {
                name: format!("{ip:#x}"),
                file: String::new(),
                line: 0,
            });
        }
        self.resolved.insert(ip, symbols.clone());
        symbols
    }

    /// Location ids for a stack, innermost first, without the recorder's
    /// own frames.
    fn stack(&mut self, ips: &[usize]) -> Vec<u64> {
        // The unwinder may end a stack with a null return address.
        let frames: Vec<(usize, Vec<Symbol>)> = ips
            .iter()
            .filter(|&&ip| ip != 0)
            .map(|&ip| (ip, self.resolve(ip)))
            .collect();
        // Every symbol, innermost first, as (frame index, symbol index).
        let flat: Vec<(usize, usize)> = frames
            .iter()
            .enumerate()
            .flat_map(|(i, (_, symbols))| (0..symbols.len()).map(move |j| (i, j)))
            .collect();
        let name = |&(i, j): &(usize, usize)| frames[i].1[j].name.as_str();
        // Cut after the outermost internal symbol, and after the drop glue
        // (`drop(guard)`, `drop_in_place`) that called into it.
        let mut keep_from = match flat.iter().rposition(|p| is_internal(name(p))) {
            Some(last) => last + 1,
            None => 0,
        };
        if keep_from > 0 {
            while keep_from < flat.len() && is_drop_glue(name(&flat[keep_from])) {
                keep_from += 1;
            }
        }
        let mut ids = Vec::new();
        let mut i = 0;
        while i < frames.len() {
            let first_kept = flat[keep_from..]
                .iter()
                .find(|(fi, _)| *fi == i)
                .map(|(_, j)| *j);
            if let Some(skip) = first_kept {
                let (ip, symbols) = &frames[i];
                let symbols = symbols[skip..].to_vec();
                ids.push(self.location(*ip, skip, &symbols));
            }
            i += 1;
        }
        ids
    }

    fn location(&mut self, ip: usize, skip: usize, symbols: &[Symbol]) -> u64 {
        if let Some(id) = self.location_ids.get(&(ip, skip)) {
            return *id;
        }
        let lines = symbols
            .iter()
            .map(|s| protos::Line {
                function_id: self.function(&s.name, &s.file),
                line: s.line,
            })
            .collect();
        let id = self.locations.len() as u64 + 1;
        self.locations.push(protos::Location {
            id,
            line: lines,
            ..Default::default()
        });
        self.location_ids.insert((ip, skip), id);
        id
    }

    fn synthetic_location(&mut self, name: &str) -> u64 {
        let id = self.locations.len() as u64 + 1;
        let function_id = self.function(name, "");
        self.locations.push(protos::Location {
            id,
            line: vec![protos::Line {
                function_id,
                line: 0,
            }],
            ..Default::default()
        });
        id
    }

    fn sample(&mut self, location_id: Vec<u64>, totals: Totals, thread: Option<&str>) {
        let label = thread
            .map(|name| protos::Label {
                key: self.string("thread"),
                str: self.string(name),
                ..Default::default()
            })
            .into_iter()
            .collect();
        self.samples.push(protos::Sample {
            location_id,
            value: vec![totals.count.round() as i64, totals.delay_ns.round() as i64],
            label,
        });
    }

    fn finish(mut self, since: SystemTime, elapsed: std::time::Duration) -> protos::Profile {
        let ever_started = EVER_STARTED.load(Ordering::Relaxed);
        let value_type = |b: &mut Self, ty: &str, unit: &str| protos::ValueType {
            ty: b.string(ty),
            unit: b.string(unit),
        };
        let contentions = value_type(&mut self, "contentions", "count");
        let delay = value_type(&mut self, "delay", "nanoseconds");
        protos::Profile {
            sample_type: vec![contentions.clone(), delay],
            sample: self.samples,
            location: self.locations,
            function: self.functions,
            string_table: self.strings,
            time_nanos: since
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as i64),
            // Time since the profile was turned on (or reset); nothing to
            // say for a profile that was never turned on.
            duration_nanos: if ever_started {
                elapsed.as_nanos() as i64
            } else {
                0
            },
            period_type: Some(contentions),
            period: 1,
            ..Default::default()
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    /// Events that reached a table, for the tests that count them.
    pub(in crate::contention) static RECORDED: AtomicU64 = AtomicU64::new(0);

    #[test]
    fn a_full_table_folds_new_stacks_into_one_entry_and_loses_nothing() {
        let mut t = Table::new();
        t.limit = 2;
        let key = |n: usize| Key {
            thread: None,
            ips: vec![n].into_boxed_slice(),
        };
        for n in 0..5 {
            t.add(key(n), 1.0, 10.0);
        }
        t.add(key(0), 1.0, 10.0);
        assert_eq!(t.entries.len(), 2);
        assert_eq!(t.entries[&key(0)].count, 2.0);
        assert_eq!(t.overflow.count, 3.0);
        assert_eq!(t.overflow.delay_ns, 30.0);
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
