//! CPU work of a known size, so a workload's shape is set by its code and
//! not by the machine it runs on.

use std::hint::black_box;

/// Mixing rounds in one unit of work. A debug build runs this loop about
/// six times slower than a release build, so a unit is scaled to cost
/// roughly the same CPU time in both: ~0.14 ms on the 2-core machine the
/// workbook was measured on. Sample counts then match whichever way a
/// learner builds.
pub const ROUNDS_PER_UNIT: u64 = if cfg!(debug_assertions) {
    20_000
} else {
    120_000
};

/// Burns `units` units of CPU and returns a value that depends on every
/// round, so the optimiser cannot delete the loop.
///
/// `#[inline(never)]` keeps this a frame of its own in every build, which is
/// what lets the caller's frame stay visible too: a function whose body was
/// inlined into its caller leaves no trace in a stack.
#[inline(never)]
pub fn burn(units: u64, seed: u64) -> u64 {
    let mut x = seed | 1;
    // A `while` loop, not `for _ in 0..n`: in a debug build the range
    // iterator is a chain of real function calls, and the profile would
    // charge the work to `core::iter` frames instead of to `burn`.
    let mut round = 0;
    while round < units * ROUNDS_PER_UNIT {
        // xorshift: cheap, branch-free, and never settles.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        round += 1;
    }
    black_box(x)
}
