//! Day 087's self-check: `cargo test -p lab-087`.
//!
//! It runs the lab into a scratch directory and reads what it wrote back.
//! Red while a group of tasks grows between the two dumps; green when
//! the summary matches the solution's snapshot.

use labkit::check;
use labkit::days::day087;

#[test]
fn the_task_dumps_show_no_leak() {
    check::self_check(
        env!("CARGO_BIN_EXE_lab-087"),
        env!("CARGO_TARGET_TMPDIR"),
        "087",
        day087::check,
        "solutions/solution-087/tests/snapshots/summary__summary.snap",
    );
}
