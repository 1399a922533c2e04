//! Day 092's solution proves itself: with the hashing on the blocking pool,
//! the heartbeat keeps time.

use labkit::check;
use labkit::check::OrFail;
use labkit::days::day092;

#[test]
fn summary() {
    let dir = check::run_once(
        env!("CARGO_BIN_EXE_solution-092"),
        env!("CARGO_TARGET_TMPDIR"),
        "solution-092",
    );
    let outcome = day092::check(&dir).or_fail();
    eprintln!(
        "latest tick {:?} late; median job {:?}; {:.3} jobs",
        outcome.max,
        outcome.job,
        outcome.lateness_in_jobs()
    );
    insta::assert_snapshot!("summary", outcome.to_string());
}

#[test]
fn the_book_shows_the_snapshot() {
    check::assert_book_shows_snapshot(
        "solutions/solution-092/tests/snapshots/summary__summary.snap",
        &["book/day-092.md"],
    );
}
