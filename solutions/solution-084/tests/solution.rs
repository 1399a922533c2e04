//! Day 084's solution proves itself: dhat counted every allocation of the
//! run, the scratch buffers are all there in the total, and none of them
//! is live at the peak.

use std::path::PathBuf;

use selfcheck::OrFail;
use workbook::days::day084;

fn solution_output() -> PathBuf {
    selfcheck::run_once!()
}

#[test]
fn summary() {
    let outcome = day084::check(&solution_output()).or_fail();
    // dhat counts exactly: 400 scratch buffers of 64 KiB and 400 receipts
    // as long as their text, all from build_receipt.
    let site = &outcome.heap.sites[0];
    assert_eq!(site.function, "build_receipt");
    assert_eq!(site.total_blocks, 2 * day084::ORDERS);
    assert_eq!(
        site.total_bytes,
        day084::ORDERS * day084::SCRATCH_BYTES + outcome.text_bytes
    );
    // At the peak the receipts hold their text and not one byte more, and
    // the whole program has a small part of what it allocated live.
    assert_eq!(outcome.receipts_live, outcome.text_bytes);
    assert!(
        outcome.heap.peak_bytes * 10 < outcome.heap.total_bytes,
        "{}",
        outcome
    );
    insta::assert_snapshot!("summary", outcome.to_string());
}

#[test]
fn the_book_shows_the_snapshot() {
    selfcheck::assert_book_shows_snapshot(workbook::this_day!(), &[]);
}

/// What is not dhat JSON is refused by name.
#[test]
fn a_file_that_is_not_dhat_json_is_named_in_the_error() {
    let dir = solution_output();
    let err =
        labkit::heap::load(&dir.join("..").join("solution-084").join("no-such.json")).unwrap_err();
    assert!(err.contains("no-such.json does not exist"), "{err}");
    let not_dhat = dir.join("not-dhat.json");
    std::fs::write(&not_dhat, r#"{"traceEvents": []}"#).unwrap();
    let err = labkit::heap::load(&not_dhat).unwrap_err();
    assert!(
        err.contains("not-dhat.json is not a dhat heap profile"),
        "{err}"
    );
    std::fs::remove_file(not_dhat).unwrap();
}

#[test]
#[ignore = "the emulated machines take a minute in all; .ci/run runs them: cargo test -- --ignored emulated"]
fn passes_on_emulated_machines() {
    selfcheck::passes_on_emulated_machines!();
}
