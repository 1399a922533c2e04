//! Day 094's solution proves itself: every move completes, the stocks
//! hold as many items as they started with, no thread waits on a lock at
//! the end, and the watchdog never fires.

use std::path::Path;

use selfcheck::OrFail;
use workbook::days::day094;

#[test]
fn summary() {
    let dir = selfcheck::scratch();
    let outcome = {
        let _machine = selfcheck::one_at_a_time();
        day094::check(
            selfcheck::launch,
            Path::new(selfcheck::program!()),
            dir.path(),
        )
        .or_fail()
    };
    assert_eq!(outcome.run.done, 2 * day094::MOVES);
    assert_eq!(outcome.run.stocks, Some((day094::MOVES, day094::MOVES)));
    assert_eq!(outcome.waiting_at_end, 0);
    // The final dump holds the main thread at least, in Go's form.
    let dump = std::fs::read_to_string(dir.path().join(day094::DUMP_FILE)).unwrap();
    assert!(dump.starts_with("goroutine "), "{dump}");
    insta::assert_snapshot!("summary", outcome.to_string());
}

#[test]
fn the_book_shows_the_snapshot() {
    selfcheck::assert_book_shows_snapshot(workbook::this_day!(), &[]);
}

/// The dump's parser finds the threads in `sync.Mutex.Lock` and their
/// own frames, as the lab's deadlock leaves them.
#[test]
fn lock_waiters_are_read_from_a_dump() {
    let dump = "goroutine 10 [sleep, thread watchdog]:\n\
        std::thread::sleep(...)\n\t/rustc/x/library/std/src/thread/mod.rs:1 +0x10\n\n\
        goroutine 11 [sync.Mutex.Lock, thread restock]:\n\
        parking_lot::raw_mutex::RawMutex::lock_slow(...)\n\t?:0\n\
        lab_094::restock_one(...)\n\t/work/labs/lab-094/src/main.rs:104 +0x9c\n\n";
    let waiters = day094::lock_waiters(dump);
    assert_eq!(
        waiters,
        vec![day094::Waiter {
            thread: "restock".into(),
            function: "lab_094::restock_one".into(),
            at: "labs/lab-094/src/main.rs:104".into(),
        }]
    );
}
