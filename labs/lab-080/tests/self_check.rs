//! Day 080's self-check: `cargo test -p lab-080`.
//!
//! It runs the lab into a scratch directory and reads what it wrote back.
//! Red until the profile covers the batch; green when its summary matches
//! the solution's snapshot.

use std::path::Path;

use labkit::check;
use labkit::days::day080;

#[test]
fn the_cpu_profile_covers_the_whole_batch() {
    let dir = check::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "lab-080");
    check::run_program(Path::new(env!("CARGO_BIN_EXE_lab-080")), &dir)
        .unwrap_or_else(|e| panic!("{e}"));
    let summary = day080::check(&dir).unwrap_or_else(|failure| panic!("\n{failure}\n"));

    let expected = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../solutions/solution-080/tests/snapshots/summary__summary.snap");
    let expected = check::snapshot_body(&expected).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        summary.to_string(),
        expected,
        "the profile has samples now, but its summary is not the solution's"
    );
}
