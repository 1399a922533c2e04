//! Day 082's solution proves itself: named threads show worker-0 doing
//! four times the median, and the shared queue evens the work out.

use std::path::PathBuf;

use labkit::check;
use labkit::check::OrFail;
use labkit::days::day082;

fn solution_output() -> PathBuf {
    check::run_once(
        env!("CARGO_BIN_EXE_solution-082"),
        env!("CARGO_TARGET_TMPDIR"),
        "solution-082",
    )
}

#[test]
fn summary() {
    let summary = day082::check(&solution_output()).or_fail();
    insta::assert_snapshot!("summary", summary.to_string());
}

#[test]
fn go_tool_pprof_reads_the_profile() {
    check::go_pprof_lists(
        &solution_output().join("partitioned/cpu.pb.gz"),
        "cpu",
        &["solution_082::price_order", "solution_082::worker"],
    );
}

#[test]
fn the_book_shows_the_snapshot() {
    check::assert_book_shows_snapshot(
        "solutions/solution-082/tests/snapshots/summary__summary.snap",
        &["book/day-082.md"],
    );
}
