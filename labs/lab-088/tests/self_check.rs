//! Day 088's self-check: `cargo test -p lab-088`.
//!
//! It starts the lab's service on a free port on 127.0.0.1, exercises it
//! from outside and stops it. Red while SIGQUIT kills the service; green when it writes a task dump
//! and the service keeps answering.

use std::path::Path;

use labkit::check;
use labkit::check::OrFail;
use labkit::days::day088;

#[test]
fn sigquit_writes_a_dump_and_the_service_keeps_serving() {
    let dir = check::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "lab-088");
    let outcome = day088::check(Path::new(env!("CARGO_BIN_EXE_lab-088")), &dir).or_fail();
    let expected = check::snapshot_body(
        &labkit::out::workspace_root()
            .join("solutions/solution-088/tests/snapshots/summary__summary.snap"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        outcome.to_string(),
        expected,
        "the service works now, but not as the solution's"
    );
}
