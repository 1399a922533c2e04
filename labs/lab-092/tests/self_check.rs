//! Day 092's self-check: `cargo test -p lab-092`.
//!
//! It runs the lab into a scratch directory and reads what it wrote back.
//! Red while the heartbeat is starved by CPU-bound jobs; green when it
//! keeps time and the summary matches the solution's snapshot.

#[test]
fn the_heartbeat_keeps_time() {
    selfcheck::lab!();
}
