//! Day 085's solution proves itself: the block profile holds the waits, the
//! blocked sends on the result channel are on top, and `go tool pprof`
//! reads the file.

use std::path::PathBuf;

use selfcheck::OrFail;
use workbook::days::day085;

fn solution_output() -> PathBuf {
    selfcheck::run_once!()
}

#[test]
fn summary() {
    let profiles = day085::check(&solution_output()).or_fail();
    // Four workers and one producer, all waiting on the consumer: the
    // waiting splits about 4:1 (measured 79.9 : 20.1 idle, 76.6–80.2 :
    // 19.1–20.1 with four busy loops).
    let (worker, produce) = (
        profiles.block.percent("worker"),
        profiles.block.percent("produce"),
    );
    assert!(
        (2.5..6.0).contains(&(worker / produce)),
        "worker:produce = {worker:.0}:{produce:.0}"
    );
    insta::assert_snapshot!("summary", profiles.to_string());
}

#[test]
fn go_tool_pprof_reads_the_block_profile() {
    let Some(top) = selfcheck::go_pprof_lists(
        &solution_output().join("block.pb.gz"),
        "delay",
        &["solution_085::deliver", "solution_085::produce"],
    ) else {
        return;
    };
    assert!(!top.contains("labkit::contention::record"), "{top}");
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
