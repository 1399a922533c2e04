//! Day 081's self-check: `cargo test -p lab-081`.
//!
//! It runs the lab into a scratch directory and reads what it wrote back.
//! Red while the run is too short to rank anything; green when its summary
//! matches the solution's snapshot.

use std::path::Path;

use labkit::check;
use labkit::days::day081;

#[test]
fn the_profile_has_enough_samples_to_rank() {
    let dir = check::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "lab-081");
    check::run_program(Path::new(env!("CARGO_BIN_EXE_lab-081")), &dir)
        .unwrap_or_else(|e| panic!("{e}"));
    let summary = day081::check(&dir).unwrap_or_else(|failure| panic!("\n{failure}\n"));

    let expected = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../solutions/solution-081/tests/snapshots/summary__summary.snap");
    let expected = check::snapshot_body(&expected).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        summary.to_string(),
        expected,
        "the profile has enough samples now, but its summary is not the solution's"
    );
}
