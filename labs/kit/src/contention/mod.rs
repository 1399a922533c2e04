//! Go-style **block** and **mutex** profiles for Rust, which has neither.
//!
//! Swap one `use` line and a program's locks and channels are profiled:
//!
//! ```
//! use labkit::contention::{Mutex, bounded}; // instead of parking_lot / crossbeam_channel
//! labkit::contention::set_block_profile_rate(1)?;      // every wait
//! labkit::contention::set_mutex_profile_fraction(1)?;  // every contended release
//! let stats = Mutex::new(0u64);
//! let (tx, rx) = bounded::<u64>(2);
//! # drop((stats, tx, rx));
//! # labkit::contention::set_block_profile_rate(0)?;
//! # labkit::contention::set_mutex_profile_fraction(0)?;
//! # Ok::<(), labkit::Error>(())
//! ```
//!
//! # What each profile measures (Go's semantics)
//!
//! - The **block profile** records time spent *waiting*: for a lock another
//!   thread holds, for room in a full channel, for a value in an empty one.
//!   The delay is charged to the **waiter's** stack. Its rate, in
//!   nanoseconds, is set by [`set_block_profile_rate`]: 0 (the default) is
//!   off; 1 records every wait; with a rate `r`, a wait of `d ≥ r` ns is
//!   always kept and a shorter one is kept with probability `d / r` and then
//!   scaled to count `r / d` events and `r` ns of delay, as Go ≥ 1.17 does,
//!   so the totals stay unbiased.
//! - The **mutex profile** records the time a lock holder made *others*
//!   wait, charged to the stack that **released** the contended lock: the
//!   code that caused the waiting, not the code that suffered it. Each
//!   release that hands the lock to a waiting thread is one contention; its
//!   delay is the waiting time of *every* waiter (waiter-nanoseconds)
//!   accrued since the previous contended release, so three threads kept
//!   waiting 2 ms each cost the holder 6 ms (Go 1.22 scales its runtime
//!   locks by the number of waiters to the same end). Its fraction is set by
//!   [`set_mutex_profile_fraction`]: 0 (the default) is off; `n` records on
//!   average one contended release in `n`, scaled by `n`.
//! - Channels appear only in the block profile, as in Go.
//!
//! # Costs
//!
//! With both profiles off, a lock or channel operation costs one relaxed
//! atomic load more than the type it wraps: no clock read, no stack, no
//! allocation, no lock (`cargo bench -p bench` measures it). With a
//! profile on, an *uncontended* lock operation adds a `try_lock` and one
//! relaxed load at the release: still no clock, no lock, no stack. Only a
//! wait or a release with waiters reads the clock and updates a small
//! bookkeeping lock. Sampling is decided before any stack is walked: a
//! wait's threshold is drawn as it begins, a release is kept one in `n`,
//! and only a kept event walks its stack (a few microseconds) and takes the
//! profile's table lock. A kept lock wait walks its stack while it still
//! waits, not once it holds the lock; a kept release walks after letting
//! the lock go. So the rate and the fraction bound the cost: at rate 1 and
//! fraction 1 every contended operation walks a stack; at a rate of 10 µs
//! and a fraction of 100, short waits and most releases walk none.
//!
//! Stacks are symbolised only when a profile is written. The debug info
//! that takes is loaded when profiling is first turned on (tens to hundreds
//! of milliseconds, once, in the caller of `set_…`): loaded by the first
//! profile written instead, it would hold the unwinder's process-wide lock,
//! which every kept wait needs for its stack walk, and stall them all.
//!
//! # Memory
//!
//! Each profile keeps at most [`MAX_STACKS`] distinct stacks of at most
//! [`MAX_DEPTH`] frames, each split by thread into at most
//! [`MAX_THREADS_PER_STACK`] names (the rest are labelled
//! [`OTHER_THREADS`]): about 5 MiB at worst. Events on further stacks are
//! not dropped: they are added to one entry shown as
//! `labkit::contention::stack_table_full`, so totals stay right. Naming
//! every thread differently cannot fill the table: the thread is a label of
//! a stack, not part of its key.
//!
//! # Left out
//!
//! `crossbeam_channel::select!` cannot see through these wrappers; use
//! [`Receiver::inner`] and [`Sender::inner`] to select on the raw channels
//! (their waits are then not recorded). Condition variables and
//! `std::sync` types are not wrapped.

mod channel;
mod lock;
mod record;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

pub use channel::{
    Receiver, RecvError, RecvTimeoutError, SendError, SendTimeoutError, Sender, TryRecvError,
    TrySendError, bounded, unbounded,
};
pub use lock::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use record::{
    MAX_DEPTH, MAX_STACKS, MAX_THREADS_PER_STACK, OTHER_THREADS, block_profile, mutex_profile,
    reset,
};

use crate::Error;

/// The largest block rate accepted: one minute. A rate above every wait a
/// program will ever see samples nothing useful and is surely a unit slip.
pub const MAX_BLOCK_RATE_NS: i64 = 60_000_000_000;
/// The largest mutex fraction accepted.
pub const MAX_MUTEX_FRACTION: i64 = 1_000_000;

static BLOCK_RATE: AtomicU64 = AtomicU64::new(0);
static MUTEX_FRACTION: AtomicU64 = AtomicU64::new(0);
/// Either profile on: the one load a lock operation pays when both are off.
static LOCKS_PROFILED: AtomicBool = AtomicBool::new(false);

/// Turns the block profile on (`rate_ns ≥ 1`) or off (`0`), like Go's
/// `runtime.SetBlockProfileRate`. Returns the previous rate.
///
/// Rate 1 records every wait: right for a lab, where the program is small
/// and the point is to see everything. In production each recorded wait
/// costs a stack walk, so pick a rate near the waits you care about (say
/// 10 µs = `10_000`): only the waits kept walk their stacks, and the
/// scaling keeps the totals honest.
///
/// The first call that turns either profile on loads the debug info the
/// profiles will need (once per process), before any wait is profiled.
pub fn set_block_profile_rate(rate_ns: i64) -> Result<i64, Error> {
    if !(0..=MAX_BLOCK_RATE_NS).contains(&rate_ns) {
        return Err(Error::new(format!(
            "block profile rate {rate_ns}: expected 0 (off), 1 (every wait) or a wait in \
             nanoseconds up to {MAX_BLOCK_RATE_NS} (one minute)"
        )));
    }
    record::started();
    let old = BLOCK_RATE.swap(rate_ns as u64, Ordering::Relaxed);
    update_locks_profiled();
    Ok(old as i64)
}

/// Turns the mutex profile on (`fraction ≥ 1`: one contended release in
/// `fraction` is recorded) or off (`0`), like Go's
/// `runtime.SetMutexProfileFraction`. Returns the previous fraction.
pub fn set_mutex_profile_fraction(fraction: i64) -> Result<i64, Error> {
    if !(0..=MAX_MUTEX_FRACTION).contains(&fraction) {
        return Err(Error::new(format!(
            "mutex profile fraction {fraction}: expected 0 (off), 1 (every contended release) \
             or n up to {MAX_MUTEX_FRACTION} (one in n)"
        )));
    }
    record::started();
    let old = MUTEX_FRACTION.swap(fraction as u64, Ordering::Relaxed);
    update_locks_profiled();
    Ok(old as i64)
}

fn update_locks_profiled() {
    let on = BLOCK_RATE.load(Ordering::Relaxed) > 0 || MUTEX_FRACTION.load(Ordering::Relaxed) > 0;
    LOCKS_PROFILED.store(on, Ordering::Relaxed);
}

#[inline]
fn locks_profiled() -> bool {
    LOCKS_PROFILED.load(Ordering::Relaxed)
}

#[inline]
fn channels_profiled() -> bool {
    BLOCK_RATE.load(Ordering::Relaxed) > 0
}

#[cfg(test)]
mod tests;
