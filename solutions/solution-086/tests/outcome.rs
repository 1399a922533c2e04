//! Day 086's solution proves itself: the waiting its lock releases cause
//! is a small share of the workers' time (the lab's is most of it), and
//! what contention is left sits on the audit log.

use std::path::PathBuf;

use labkit::check;
use labkit::check::OrFail;
use labkit::days::day086;

fn solution_output() -> PathBuf {
    check::run_once(
        env!("CARGO_BIN_EXE_solution-086"),
        env!("CARGO_TARGET_TMPDIR"),
        "solution-086",
    )
}

#[test]
fn summary() {
    let outcome = day086::check(&solution_output()).or_fail();
    eprintln!(
        "record_result's waiting: {:?} of {:?} worker time ({:.2}%)",
        outcome.hot_wait,
        outcome.worker_time,
        outcome.wait_share() * 100.0
    );
    insta::assert_snapshot!("summary", outcome.to_string());
}

#[test]
fn go_tool_pprof_reads_the_mutex_profile() {
    let Some(top) = check::go_pprof_top(&solution_output().join("mutex.pb.gz")) else {
        return;
    };
    assert!(top.contains("Type: delay"), "{top}");
    assert!(top.contains("solution_086::append_audit"), "{top}");
}

#[test]
fn the_book_shows_the_snapshot() {
    check::assert_book_shows_snapshot(
        "solutions/solution-086/tests/snapshots/outcome__summary.snap",
        &["book/day-086.md"],
    );
}
