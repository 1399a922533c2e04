//! Day 080's self-check: `cargo test -p lab-080`.
//!
//! It runs the lab into a scratch directory and reads what it wrote back.
//! Red until the profile covers the batch; green when its summary matches
//! the solution's snapshot.

use labkit::check;
use labkit::days::day080;

#[test]
fn the_cpu_profile_covers_the_whole_batch() {
    check::self_check(
        env!("CARGO_BIN_EXE_lab-080"),
        env!("CARGO_TARGET_TMPDIR"),
        "080",
        day080::check,
        "solutions/solution-080/tests/snapshots/summary__summary.snap",
    );
}
