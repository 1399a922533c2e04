//! Day 081's solution proves itself: enough samples that hash ranks above
//! compress every time, with the margin said in the summary.

use std::path::PathBuf;

use selfcheck::OrFail;
use workbook::days::day081;

fn solution_output() -> PathBuf {
    selfcheck::run_once!()
}

#[test]
fn summary() {
    let summary = day081::check(&solution_output()).or_fail();
    // The ranges hide the numbers; the ratio itself must be right too:
    // about 3:1. At the floor of 300 samples the log of the ratio has a
    // standard error of √((1/.6 + 1/.2) / 300) ≈ 0.15, so 1.6..6.0 (log 3
    // − 0.63, + 0.69) is over 4 standard errors wide on each side.
    let (hash, compress) = (summary.percent("hash"), summary.percent("compress"));
    assert!(
        (1.6..6.0).contains(&(hash / compress)),
        "hash:compress = {hash:.0}:{compress:.0}"
    );
    insta::assert_snapshot!("summary", summary.to_string());
}

#[test]
fn go_tool_pprof_reads_the_profile() {
    selfcheck::go_pprof_lists(
        &solution_output().join("cpu.pb.gz"),
        "cpu",
        &[
            "solution_081::hash",
            "solution_081::compress",
            "solution_081::generate",
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
