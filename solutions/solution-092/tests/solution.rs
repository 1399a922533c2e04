//! Day 092's solution proves itself: with the hashing on the blocking pool,
//! the heartbeat keeps time.

use selfcheck::OrFail;
use workbook::days::day092;

#[test]
fn summary() {
    let dir = selfcheck::run_once!();
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
    selfcheck::assert_book_shows_snapshot(workbook::this_day!(), &[]);
}

#[test]
#[ignore = "the emulated machines take a minute in all; .ci/run runs them: cargo test -- --ignored emulated"]
fn passes_on_emulated_machines() {
    selfcheck::passes_on_emulated_machines!();
}
