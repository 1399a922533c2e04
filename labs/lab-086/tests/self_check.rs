//! Day 086's self-check: `cargo test -p lab-086`.
//!
//! It runs the lab into a scratch directory and reads its mutex profile and
//! throughput back. Red while one lock makes the workers queue; green when
//! the waiting the lock releases cause drops at least tenfold and the
//! throughput rises by half. Any fix that does that passes: moving the slow
//! work out of the lock, or sharding the statistics as the solution does.

#[test]
fn the_hot_lock_is_cooled() {
    selfcheck::lab!();
}
