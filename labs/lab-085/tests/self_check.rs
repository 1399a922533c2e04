//! Day 085's self-check: `cargo test -p lab-085`.
//!
//! It runs the lab into a scratch directory and reads both profiles back.
//! Red until the block profile records the pipeline's waits; green when
//! its summary matches the solution's snapshot.

use std::path::Path;

use labkit::check;
use labkit::days::day085;

#[test]
fn the_block_profile_shows_where_the_pipeline_waits() {
    let dir = check::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "lab-085");
    check::run_program(Path::new(env!("CARGO_BIN_EXE_lab-085")), &dir)
        .unwrap_or_else(|e| panic!("{e}"));
    let profiles = day085::check(&dir).unwrap_or_else(|failure| panic!("\n{failure}\n"));

    let expected = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../solutions/solution-085/tests/snapshots/profiles__summary.snap");
    let expected = check::snapshot_body(&expected).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        profiles.to_string(),
        expected,
        "the block profile is recorded now, but its summary is not the solution's"
    );
}
