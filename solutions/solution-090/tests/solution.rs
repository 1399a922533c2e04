//! Day 090's solution proves itself: the trace is valid Chrome trace
//! JSON with every stage's spans, and the consumer is the busy one.

use std::path::PathBuf;

use selfcheck::OrFail;
use workbook::days::day090;

fn solution_output() -> PathBuf {
    selfcheck::run_once!()
}

#[test]
fn summary() {
    let outcome = day090::check(&solution_output()).or_fail();
    // Two hundred items through three stages: six hundred spans, exactly.
    assert_eq!(outcome.trace.spans, 600);
    insta::assert_snapshot!("summary", outcome.to_string());
}

#[test]
fn the_book_shows_the_snapshot() {
    selfcheck::assert_book_shows_snapshot(workbook::this_day!(), &[]);
}

/// What is not a Chrome trace is refused by name.
#[test]
fn a_file_that_is_not_a_chrome_trace_is_named_in_the_error() {
    let not_trace = solution_output().join("dhat-like.json");
    std::fs::write(&not_trace, r#"{"dhatFileVersion": 2}"#).unwrap();
    let err = labkit::trace::load(&not_trace).unwrap_err();
    assert!(
        err.contains("dhat-like.json is not a Chrome trace"),
        "{err}"
    );
    std::fs::remove_file(not_trace).unwrap();
}

#[test]
#[ignore = "the emulated machines take a minute in all; .ci/run runs them: cargo test -- --ignored emulated"]
fn passes_on_emulated_machines() {
    selfcheck::passes_on_emulated_machines!();
}
