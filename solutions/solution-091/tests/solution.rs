//! Day 091's solution proves itself: the benchmark keeps checksum's
//! result, so the profile shows checksum on top and criterion's time per
//! iteration agrees with checksum timed by hand in the same run.

use std::path::PathBuf;

use selfcheck::OrFail;
use workbook::days::day091;

fn solution_output() -> PathBuf {
    selfcheck::run_once!()
}

#[test]
fn summary() {
    let outcome = day091::check(&solution_output()).or_fail();
    eprintln!(
        "criterion {} per iteration, by hand {}, ratio {:.2}; {} samples, {:.0}% in checksum",
        day091::human_ns(outcome.criterion_ns),
        day091::human_ns(outcome.reference_ns),
        outcome.ratio(),
        outcome.samples,
        outcome.leaf_percent(day091::FUNCTION)
    );
    // The time per iteration is plausible against the yardstick measured
    // in the same run, never against a constant.
    assert!(
        outcome.plausible(),
        "criterion {} vs by hand {}",
        outcome.criterion_ns,
        outcome.reference_ns
    );
    // The function under test is on top of the profile.
    assert_eq!(
        outcome.leaves.first().map(|(n, _)| n.as_str()),
        Some(day091::FUNCTION),
        "{:?}",
        outcome.leaves
    );
    insta::assert_snapshot!("summary", outcome.to_string());
}

#[test]
fn go_tool_pprof_reads_the_profile() {
    selfcheck::go_pprof_lists(
        &day091::profile_path(&solution_output()),
        "cpu",
        &["solution_091::checksum"],
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
