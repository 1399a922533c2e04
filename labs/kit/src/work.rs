//! CPU work of a known size, so a workload's shape is set by its code and
//! not by the machine it runs on.
//!
//! A unit is a fixed number of mixing rounds, so its *cost* in time differs
//! from machine to machine (about 0.14 ms on the 2-core machine the workbook
//! was measured on, a tenth of that on a fast laptop). What a unit fixes is
//! the *shape*: a function that burns four units costs four times one that
//! burns one, on every machine. How long a workload runs is decided
//! elsewhere, by the evidence it must produce (see
//! [`crate::capture::until_sampled`]), never by counting units.
//!
//! Every unit burned is also counted, per thread ([`units_burned`]): the
//! work a thread was *given*, exactly, which the scheduler, the core count
//! and the machine's speed cannot change. [`crate::threads::account`]
//! records it beside each thread's CPU time.

use std::cell::Cell;
use std::hint::black_box;
use std::sync::OnceLock;

/// Mixing rounds in one unit of work. A debug build runs this loop about
/// six times slower than a release build, so a unit is scaled to cost
/// roughly the same CPU time in both; sample counts then match whichever
/// way a learner builds.
pub const ROUNDS_PER_UNIT: u64 = if cfg!(debug_assertions) {
    20_000
} else {
    120_000
};

/// Emulates a machine this many times faster per core: every unit runs
/// `ROUNDS_PER_UNIT / N` rounds. The workbook's tests set it to prove that
/// no verdict depends on the speed of the machine it runs on.
pub const SPEEDUP_ENV: &str = "LABKIT_WORK_SPEEDUP";

thread_local! {
    static BURNED: Cell<u64> = const { Cell::new(0) };
}

/// Burns `units` units of CPU and returns a value that depends on every
/// round, so the optimiser cannot delete the loop.
///
/// `#[inline(never)]` keeps this a frame of its own in every build, which is
/// what lets the caller's frame stay visible too: a function whose body was
/// inlined into its caller leaves no trace in a stack.
#[inline(never)]
pub fn burn(units: u64, seed: u64) -> u64 {
    BURNED.with(|b| b.set(b.get().wrapping_add(units)));
    let rounds = units * rounds_per_unit();
    let mut x = seed | 1;
    // A `while` loop, not `for _ in 0..n`: in a debug build the range
    // iterator is a chain of real function calls, and the profile would
    // charge the work to `core::iter` frames instead of to `burn`.
    let mut round = 0;
    while round < rounds {
        // xorshift: cheap, branch-free, and never settles.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        round += 1;
    }
    black_box(x)
}

/// Burns `cpu` of the current thread's CPU time, a unit at a time, and
/// returns a value that depends on every round.
///
/// For work whose *duration* a verdict leans on (a job a heartbeat must
/// not wait for, a stall measured against a tick), a size in units would
/// make the job ten times shorter on a fast laptop; a size in CPU time
/// (the kernel's own clock for this thread, `CLOCK_THREAD_CPUTIME_ID`) is
/// the same on every machine, busy or idle, and [`SPEEDUP_ENV`] leaves it
/// alone. Where the thread's clock cannot be read, it burns
/// `cpu / 0.14 ms` units, the unit's cost where the workbook was written.
#[inline(never)]
pub fn burn_cpu(cpu: std::time::Duration, seed: u64) -> u64 {
    let cpu_ns = u64::try_from(cpu.as_nanos()).unwrap_or(u64::MAX);
    let mut x = seed;
    let Some(start) = crate::threads::cpu_time_ns() else {
        return burn(cpu_ns / 140_000, seed);
    };
    while crate::threads::cpu_time_ns().is_some_and(|now| now.saturating_sub(start) < cpu_ns) {
        x = burn(1, x);
    }
    black_box(x)
}

/// The units the current thread has burned so far.
pub fn units_burned() -> u64 {
    BURNED.with(Cell::get)
}

/// Rounds per unit on this run: [`ROUNDS_PER_UNIT`], divided by the
/// emulated speed-up when [`SPEEDUP_ENV`] is set.
pub fn rounds_per_unit() -> u64 {
    static ROUNDS: OnceLock<u64> = OnceLock::new();
    *ROUNDS.get_or_init(
        || match speedup(std::env::var(SPEEDUP_ENV).ok().as_deref()) {
            Ok(n) => (ROUNDS_PER_UNIT / n).max(1),
            Err(e) => crate::out::bad_setting(&e),
        },
    )
}

/// Checks both emulation settings ([`SPEEDUP_ENV`] and
/// [`crate::capture::SAMPLE_HZ_ENV`]) as the environment holds them, so a
/// program can refuse a bad one before any work starts.
pub fn check_emulation_settings() -> Result<(), String> {
    speedup(std::env::var(SPEEDUP_ENV).ok().as_deref())?;
    crate::capture::frequency_hz()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Parses the speed-up: absent means 1; otherwise a whole number from 1 to
/// 1000.
pub fn speedup(value: Option<&str>) -> Result<u64, String> {
    let Some(text) = value else { return Ok(1) };
    match text.trim().parse::<u64>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        _ => Err(format!(
            "{SPEEDUP_ENV}={text:?} is not a speed-up: give a whole number from 1 to 1000 \
             (10 emulates a machine ten times faster per core), or unset it"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_counted_per_thread() {
        let before = units_burned();
        burn(3, 1);
        burn(2, 1);
        assert_eq!(units_burned() - before, 5);
        let other = std::thread::spawn(|| {
            burn(1, 1);
            units_burned()
        });
        assert_eq!(other.join().unwrap(), 1);
    }

    #[test]
    fn burn_cpu_burns_cpu_time_not_loops() {
        let Some(before) = crate::threads::cpu_time_ns() else {
            return; // no thread clock here
        };
        burn_cpu(std::time::Duration::from_millis(20), 7);
        let spent = crate::threads::cpu_time_ns().unwrap() - before;
        assert!((20_000_000..60_000_000).contains(&spent), "{spent} ns");
    }

    #[test]
    fn a_bad_speedup_names_the_variable_and_what_is_valid() {
        assert_eq!(speedup(None), Ok(1));
        assert_eq!(speedup(Some("10")), Ok(10));
        for bad in ["0", "ten", "-3", "1001", ""] {
            let e = speedup(Some(bad)).unwrap_err();
            assert!(e.contains(SPEEDUP_ENV) && e.contains("1 to 1000"), "{e}");
        }
    }
}
