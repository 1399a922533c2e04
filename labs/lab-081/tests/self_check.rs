//! Day 081's self-check: `cargo test -p lab-081`.
//!
//! It runs the lab into a scratch directory and reads what it wrote back.
//! Red while the run is too short to rank anything; green when its summary
//! matches the solution's snapshot.

use labkit::check;
use labkit::days::day081;

#[test]
fn the_profile_has_enough_samples_to_rank() {
    check::self_check(
        env!("CARGO_BIN_EXE_lab-081"),
        env!("CARGO_TARGET_TMPDIR"),
        "081",
        day081::check,
        "solutions/solution-081/tests/snapshots/summary__summary.snap",
    );
}
