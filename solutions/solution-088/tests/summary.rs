//! Day 088's solution proves itself: SIGQUIT writes a task dump and the
//! service keeps answering.

use std::path::Path;

use labkit::check;
use labkit::check::OrFail;
use labkit::days::day088;

#[test]
fn summary() {
    let dir = check::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "solution-088");
    let outcome = day088::check(Path::new(env!("CARGO_BIN_EXE_solution-088")), &dir).or_fail();
    let name = outcome
        .dump_file
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with("task-dump-echo-") && name.ends_with(".txt"),
        "{name}"
    );
    // Written atomically: the dump is the only file besides nothing half-done.
    let others: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(others.is_empty(), "temporary files left behind: {others:?}");
    insta::assert_snapshot!("summary", outcome.to_string());
}

#[test]
fn the_book_shows_the_snapshot() {
    check::assert_book_shows_snapshot(
        "solutions/solution-088/tests/snapshots/summary__summary.snap",
        &["book/day-088.md"],
    );
}
