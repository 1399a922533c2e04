//! Day 084's self-check: `cargo test -p lab-084`.
//!
//! It runs the lab into a scratch directory and reads what it wrote back.
//! Red until dhat records the whole order run; green when the summary
//! matches the solution's snapshot.

use labkit::check;
use labkit::days::day084;

#[test]
fn the_heap_profile_covers_the_orders() {
    check::self_check(
        env!("CARGO_BIN_EXE_lab-084"),
        env!("CARGO_TARGET_TMPDIR"),
        "084",
        day084::check,
        "solutions/solution-084/tests/snapshots/summary__summary.snap",
    );
}
