//! Day 090's self-check: `cargo test -p lab-090`.
//!
//! It runs the lab into a scratch directory and reads what it wrote back.
//! Red until the trace is finished after the pipeline, not before; green
//! when its summary matches the solution's snapshot.

use labkit::check;
use labkit::days::day090;

#[test]
fn the_trace_holds_the_whole_pipeline() {
    check::self_check(
        env!("CARGO_BIN_EXE_lab-090"),
        env!("CARGO_TARGET_TMPDIR"),
        "090",
        day090::check,
        "solutions/solution-090/tests/snapshots/summary__summary.snap",
    );
}
