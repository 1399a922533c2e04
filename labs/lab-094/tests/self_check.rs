//! Day 094's self-check: `cargo test -p lab-094`.
//!
//! It runs the lab as a child process into a scratch directory and waits
//! for it to end: its watchdog ends a run in which no move completes for
//! two seconds, after writing a thread dump. Red while the workers
//! deadlock; green when every move completes and the summary matches the
//! solution's snapshot.

#[test]
fn every_move_completes() {
    selfcheck::lab!();
}
