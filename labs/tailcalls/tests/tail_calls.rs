//! `release_it` and `take_it`, optimised, at rate 1 / fraction 1: each is
//! the leaf of its profile's one stack.
//!
//! Only an optimised build can turn labkit's recording call into a tail
//! jump (the bug these tests guard against), so they run in release:
//! `cargo test --release -p tailcalls`, as CI does. In a debug build they
//! would pass with the bug in place, so there they are ignored.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use labkit::contention::{self, Mutex};
use tailcalls::{release_it, take_it};

/// The profiles are process-wide: one test at a time, from a clean table.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    contention::reset();
    turn
}

/// Holds a lock while another thread comes to take it through `take`, then
/// lets `release` drop the guard. On a busy machine the other thread may
/// come only after the release: then nobody waited, and `recorded` (the
/// profile under test) is still empty, so the round is run again.
fn contend(
    release: fn(contention::MutexGuard<'_, u64>),
    take: fn(&Mutex<u64>) -> contention::MutexGuard<'_, u64>,
    recorded: fn() -> labkit::profile::Recorded,
) -> labkit::profile::Recorded {
    for _ in 0..50 {
        let lock = Arc::new(Mutex::new(0u64));
        let guard = lock.lock();
        let waiter = {
            let lock = Arc::clone(&lock);
            thread::spawn(move || *take(&lock) += 1)
        };
        thread::sleep(Duration::from_millis(20));
        release(guard);
        waiter.join().unwrap();
        let profile = recorded();
        if profile.sample_count() > 0 {
            return profile;
        }
    }
    panic!("in 50 rounds, no thread ever waited for the lock");
}

fn leaves(recorded: &labkit::profile::Recorded) -> Vec<String> {
    recorded
        .profile()
        .samples
        .iter()
        .map(|s| s.stack.last().cloned().unwrap_or_default())
        .collect()
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "the tail calls exist only in an optimised labkit: cargo test --release -p tailcalls"
)]
fn a_release_in_tail_position_is_charged_to_its_function() {
    let _turn = serial();
    contention::set_mutex_profile_fraction(1).unwrap();
    let mutex = contend(release_it, |m| m.lock(), contention::mutex_profile);
    contention::set_mutex_profile_fraction(0).unwrap();
    assert_eq!(mutex.sample_count(), 1, "one contended release");
    assert_eq!(leaves(&mutex), ["tailcalls::release_it"]);
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "the tail calls exist only in an optimised labkit: cargo test --release -p tailcalls"
)]
fn a_lock_taken_in_tail_position_is_charged_to_its_function() {
    let _turn = serial();
    contention::set_block_profile_rate(1).unwrap();
    let block = contend(|g| drop(g), take_it, contention::block_profile);
    contention::set_block_profile_rate(0).unwrap();
    assert_eq!(block.sample_count(), 1, "one wait");
    assert_eq!(leaves(&block), ["tailcalls::take_it"]);
}
