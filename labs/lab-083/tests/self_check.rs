//! Day 083's self-check: `cargo test -p lab-083`.
//!
//! It runs the lab into a scratch directory and reads the profile back, as
//! `go tool pprof` would. Red until the lab writes a whole profile; green
//! when its summary matches the solution's snapshot.

use std::path::Path;

use labkit::check;
use labkit::days::day083;

#[test]
fn the_cpu_profile_is_whole_and_shows_the_workers() {
    let dir = check::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "lab-083");
    check::run_program(Path::new(env!("CARGO_BIN_EXE_lab-083")), &dir)
        .unwrap_or_else(|e| panic!("{e}"));
    let summary = day083::check(&dir).unwrap_or_else(|failure| panic!("\n{failure}\n"));

    let expected = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../solutions/solution-083/tests/snapshots/cpu_profile__summary.snap");
    let expected = check::snapshot_body(&expected).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        summary.to_string(),
        expected,
        "the profile is whole now, but its summary is not the solution's"
    );
}
