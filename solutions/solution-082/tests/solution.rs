//! Day 082's solution proves itself: named threads show worker-0 doing
//! four times the median, and the shared queue evens the work out.

use std::path::PathBuf;

use selfcheck::OrFail;
use workbook::days::day082;

fn solution_output() -> PathBuf {
    selfcheck::run_once!()
}

#[test]
fn summary() {
    let summary = day082::check(&solution_output()).or_fail();
    insta::assert_snapshot!("summary", summary.to_string());
}

#[test]
fn go_tool_pprof_reads_the_profile() {
    selfcheck::go_pprof_lists(
        &solution_output().join("partitioned/cpu.pb.gz"),
        "cpu",
        &["solution_082::price_order", "solution_082::worker"],
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
