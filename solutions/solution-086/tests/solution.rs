//! Day 086's solution proves itself: the waiting its lock releases cause
//! is a small share of the workers' time (the lab's is most of it), and
//! what contention is left sits on the audit log.

use std::path::PathBuf;

use selfcheck::OrFail;
use workbook::days::day086;

fn solution_output() -> PathBuf {
    selfcheck::run_once!()
}

#[test]
fn summary() {
    let outcome = day086::check(&solution_output()).or_fail();
    eprintln!(
        "record_result's waiting: {:?} of {:?} worker time ({:.2}%)",
        outcome.hot_wait,
        outcome.worker_time,
        outcome.wait_share() * 100.0
    );
    insta::assert_snapshot!("summary", outcome.to_string());
}

#[test]
fn go_tool_pprof_reads_the_mutex_profile() {
    let Some(top) = selfcheck::go_pprof_top(&solution_output().join("mutex.pb.gz")) else {
        return;
    };
    assert!(top.contains("Type: delay"), "{top}");
    assert!(top.contains("solution_086::append_audit"), "{top}");
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
