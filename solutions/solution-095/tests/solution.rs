//! Day 095's solution proves itself: with the label carried by each
//! request's future, `render`'s samples split by kind as the pages each
//! kind rendered (counted exactly in the same run), the costly kind on top.

use std::path::PathBuf;

use selfcheck::OrFail;
use workbook::days::day095;

fn solution_output() -> PathBuf {
    selfcheck::run_once!()
}

#[test]
fn summary() {
    let outcome = day095::check(&solution_output()).or_fail();
    // The costly kind leads by a wide margin: ten pages a request to one.
    let export = outcome.kinds.iter().find(|k| k.0 == "export").unwrap();
    assert!(export.2 > 75.0, "{outcome:?}");
    insta::assert_snapshot!("summary", outcome.to_string());
}

#[test]
fn go_tool_pprof_reads_the_profile() {
    selfcheck::go_pprof_lists(
        &solution_output().join("cpu.pb.gz"),
        "cpu",
        &["solution_095::render"],
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
