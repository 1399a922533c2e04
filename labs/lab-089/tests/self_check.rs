//! Day 089's self-check: `cargo test -p lab-089`.
//!
//! It starts the lab's service on a free port on 127.0.0.1, exercises it
//! from outside and stops it. Red while a CPU profile stalls every other request; green when /stats
//! stays fast during a capture.

use std::path::Path;

use labkit::check;
use labkit::check::OrFail;
use labkit::days::day089;

#[test]
fn profiling_does_not_stall_the_service() {
    let dir = check::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "lab-089");
    let outcome = day089::check(Path::new(env!("CARGO_BIN_EXE_lab-089")), &dir).or_fail();
    let expected = check::snapshot_body(
        &labkit::out::workspace_root()
            .join("solutions/solution-089/tests/snapshots/summary__summary.snap"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        outcome.to_string(),
        expected,
        "the service works now, but not as the solution's"
    );
}
