//! Day 093's solution proves itself: compared by share, over three runs
//! of each version, the verdict is validate slower and render faster, and
//! parse, which only ran longer, is left alone.

use std::path::PathBuf;

use selfcheck::OrFail;
use workbook::days::day093;

fn solution_output() -> PathBuf {
    selfcheck::run_once!()
}

#[test]
fn summary() {
    let outcome = day093::check(&solution_output()).or_fail();
    eprintln!("{}", outcome.diff.numbers());
    assert_eq!(outcome.verdict.slower, ["validate"]);
    assert_eq!(outcome.verdict.faster, ["render"]);
    // The after side is about twice as long, and the raw counts say so:
    // every step but render has more samples after than before.
    let ratio = outcome.length_ratio();
    assert!(
        (1.6..2.5).contains(&ratio),
        "after/before samples {ratio:.2}"
    );
    insta::assert_snapshot!("summary", outcome.to_string());
}

#[test]
fn go_tool_pprof_reads_the_runs() {
    let dir = solution_output();
    for side in [day093::BEFORE_DIR, day093::AFTER_DIR] {
        selfcheck::go_pprof_lists(
            &dir.join(side).join("1.pb.gz"),
            "cpu",
            &[
                "solution_093::parse",
                "solution_093::validate",
                "solution_093::render",
            ],
        );
    }
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
