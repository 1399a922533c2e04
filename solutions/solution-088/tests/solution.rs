//! Day 088's solution proves itself: SIGQUIT writes a task dump and the
//! service keeps answering.

use std::path::Path;

use selfcheck::OrFail;
use workbook::days::day088;

#[test]
fn summary() {
    let dir = selfcheck::scratch();
    let outcome = day088::check(
        selfcheck::launch,
        Path::new(selfcheck::program!()),
        dir.path(),
    )
    .or_fail();
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
    selfcheck::assert_book_shows_snapshot(workbook::this_day!(), &[]);
}
