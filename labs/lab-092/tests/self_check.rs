//! Day 092's self-check: `cargo test -p lab-092`.
//!
//! It runs the lab into a scratch directory and reads what it wrote back.
//! Red while the heartbeat is starved by CPU-bound jobs; green when it
//! keeps time and the summary matches the solution's snapshot.

use labkit::check;
use labkit::days::day092;

#[test]
fn the_heartbeat_keeps_time() {
    check::self_check(
        env!("CARGO_BIN_EXE_lab-092"),
        env!("CARGO_TARGET_TMPDIR"),
        "092",
        day092::check,
        "solutions/solution-092/tests/snapshots/summary__summary.snap",
    );
}
