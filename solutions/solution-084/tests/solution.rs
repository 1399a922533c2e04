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

/// The heap profile and the receipts are one run's results. With the
/// receipts unwritable (here a directory stands in their place; a full
/// disk did the same), the run used to install the new profile beside the
/// old receipts; now it fails and leaves the last run's pair as it was.
#[test]
fn a_failed_write_leaves_the_last_run_s_pair_as_it_was() {
    let dir = selfcheck::scratch();
    let profile = dir.path().join("dhat-heap.json");
    std::fs::write(&profile, "the last run's profile").unwrap();
    let receipts = dir.path().join("receipts.txt");
    std::fs::create_dir(&receipts).unwrap();
    std::fs::write(receipts.join("in-the-way"), "x").unwrap();
    let ran = {
        let _machine = selfcheck::one_at_a_time();
        selfcheck::run_program(std::path::Path::new(selfcheck::program!()), dir.path())
    };
    assert!(ran.is_err(), "the run must fail: {ran:?}");
    assert_eq!(
        std::fs::read_to_string(&profile).unwrap(),
        "the last run's profile"
    );
    // No temporary file is left behind either.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
