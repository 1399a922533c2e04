//! Day 085's self-check: `cargo test -p lab-085`.
//!
//! It runs the lab into a scratch directory and reads both profiles back.
//! Red until the block profile records the pipeline's waits; green when
//! its summary matches the solution's snapshot.

use labkit::check;
use labkit::days::day085;

#[test]
fn the_block_profile_shows_where_the_pipeline_waits() {
    check::self_check(
        env!("CARGO_BIN_EXE_lab-085"),
        env!("CARGO_TARGET_TMPDIR"),
        "085",
        day085::check,
        "solutions/solution-085/tests/snapshots/profiles__summary.snap",
    );
}
