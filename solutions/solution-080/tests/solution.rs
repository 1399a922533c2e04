//! Day 080's solution proves itself: the profile covers the whole batch,
//! and the 1:4 split between parse and score is plain.

use std::path::PathBuf;

use selfcheck::OrFail;
use workbook::days::day080;

fn solution_output() -> PathBuf {
    selfcheck::run_once!()
}

#[test]
fn summary() {
    let summary = day080::check(&solution_output()).or_fail();
    // The ranges hide the numbers; the ratio itself must be right too:
    // about 4:1. At the floor of 300 samples the log of the ratio has a
    // standard error of √((1/.8 + 1/.2) / 300) ≈ 0.14, so 2.2..8.3 (log 4
    // − 0.6, + 0.73) is more than 4 standard errors wide on each side.
    let (score, parse) = (summary.percent("score"), summary.percent("parse"));
    assert!(
        (2.2..8.3).contains(&(score / parse)),
        "score:parse = {score:.0}:{parse:.0}"
    );
    insta::assert_snapshot!("summary", summary.to_string());
}

#[test]
fn go_tool_pprof_reads_the_profile() {
    selfcheck::go_pprof_lists(
        &solution_output().join("cpu.pb.gz"),
        "cpu",
        &[
            "solution_080::score_batch",
            "solution_080::score",
            "solution_080::parse",
        ],
    );
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
