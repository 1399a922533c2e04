//! Day 086's solution proves itself: the waiting its lock releases cause
//! drops far below the shipped lab's, the throughput rises, and what
//! contention is left sits on the audit log.

use std::path::PathBuf;

use labkit::check;
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
    let outcome = day086::check(&solution_output()).unwrap_or_else(|f| panic!("\n{f}\n"));
    // Measured: about 15 µs of waiting per item against the lab's 6.1 ms,
    // and about 1700 items/s against 470. Assert with wide margins.
    assert!(
        outcome.wait_per_item * 10 < day086::SHIPPED_WAIT_PER_ITEM,
        "waiting per item {:?} is not a tenth of the shipped lab's",
        outcome.wait_per_item
    );
    assert!(
        outcome.items_per_second > 2.0 * day086::SHIPPED_ITEMS_PER_SECOND,
        "{:.0} items/s",
        outcome.items_per_second
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
