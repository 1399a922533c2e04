//! Day 080's solution proves itself: the profile covers the whole batch,
//! and the 1:4 split between parse and score is plain.

use std::path::PathBuf;

use labkit::check;
use labkit::check::OrFail;
use labkit::days::day080;

fn solution_output() -> PathBuf {
    check::run_once(
        env!("CARGO_BIN_EXE_solution-080"),
        env!("CARGO_TARGET_TMPDIR"),
        "solution-080",
    )
}

#[test]
fn summary() {
    let summary = day080::check(&solution_output()).or_fail();
    // The bands hide the numbers; the ratio itself must be right too:
    // about 4:1 (measured 78–82 : 18–22).
    let (score, parse) = (summary.percent("score"), summary.percent("parse"));
    assert!(
        (3.0..6.0).contains(&(score / parse)),
        "score:parse = {score:.0}:{parse:.0}"
    );
    insta::assert_snapshot!("summary", summary.to_string());
}

#[test]
fn go_tool_pprof_reads_the_profile() {
    check::go_pprof_lists(
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
    check::assert_book_shows_snapshot(
        "solutions/solution-080/tests/snapshots/summary__summary.snap",
        &["book/day-080.md"],
    );
}
