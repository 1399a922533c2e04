//! `tailcalls`: the two shapes of code that an optimising compiler turns
//! into a jump to the profiler instead of a call, so that their frame is
//! gone from the stack the profiler walks.
//!
//! The workspace optimises this package even in `cargo test` (see
//! `[profile.dev.package.tailcalls]` in the root `Cargo.toml`): in a debug
//! build no call is ever a tail call, and the tests would prove nothing.
//! The tests are in `tests/tail_calls.rs`; they take well under a second.

use labkit::contention::{Mutex, MutexGuard};

/// Releases a contended lock as its very last act: the mutex profile must
/// charge the waiting to `release_it`, not to its caller.
#[inline(never)]
pub fn release_it(guard: MutexGuard<'_, u64>) {
    drop(guard)
}

/// Takes a contended lock as its very last act: the block profile must
/// charge the wait to `take_it`, not to its caller.
#[inline(never)]
pub fn take_it(lock: &Mutex<u64>) -> MutexGuard<'_, u64> {
    lock.lock()
}
