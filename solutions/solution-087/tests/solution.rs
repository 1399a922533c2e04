//! Day 087's solution proves itself: two dumps 20 requests apart hold the
//! same tasks.

use selfcheck::OrFail;
use workbook::days::day087;

#[test]
fn summary() {
    let dir = selfcheck::run_once!();
    let outcome = day087::check(&dir).or_fail();
    insta::assert_snapshot!("summary", outcome.to_string());
}

#[test]
fn the_book_shows_the_snapshot() {
    selfcheck::assert_book_shows_snapshot(workbook::this_day!(), &[]);
}

#[test]
#[ignore = "the emulated machines take a minute in all; .ci/run runs them: cargo test -- --ignored emulated"]
fn passes_on_emulated_machines() {
    selfcheck::passes_on_emulated_machines!();
}
