//! Day 087's solution proves itself: two dumps 20 requests apart hold the
//! same tasks.

use labkit::check;
use labkit::check::OrFail;
use labkit::days::day087;

#[test]
fn summary() {
    let dir = check::run_once(
        env!("CARGO_BIN_EXE_solution-087"),
        env!("CARGO_TARGET_TMPDIR"),
        "solution-087",
    );
    let outcome = day087::check(&dir).or_fail();
    insta::assert_snapshot!("summary", outcome.to_string());
}

#[test]
fn the_book_shows_the_snapshot() {
    check::assert_book_shows_snapshot(
        "solutions/solution-087/tests/snapshots/summary__summary.snap",
        &["book/day-087.md"],
    );
}
