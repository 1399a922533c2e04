//! Day 082's self-check: `cargo test -p lab-082`.
//!
//! It runs the lab into a scratch directory and reads what it wrote back.
//! Red while the workers are unnamed (and, once named, until the pool also
//! runs with a shared queue); green when the summary matches the solution's snapshot.

use std::path::Path;

use labkit::check;
use labkit::days::day082;

#[test]
fn the_per_thread_view_names_the_overloaded_worker() {
    let dir = check::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "lab-082");
    check::run_program(Path::new(env!("CARGO_BIN_EXE_lab-082")), &dir)
        .unwrap_or_else(|e| panic!("{e}"));
    let summary = day082::check(&dir).unwrap_or_else(|failure| panic!("\n{failure}\n"));

    let expected = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../solutions/solution-082/tests/snapshots/summary__summary.snap");
    let expected = check::snapshot_body(&expected).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        summary.to_string(),
        expected,
        "the per-thread view works now, but its summary is not the solution's"
    );
}
