//! Day 089's self-check: `cargo test -p lab-089`.
//!
//! It starts the lab's service on a free port on 127.0.0.1, exercises it
//! from outside and stops it. Red while a CPU profile stalls every other request; green when /stats
//! stays fast during a capture.

#[test]
fn profiling_does_not_stall_the_service() {
    selfcheck::lab!();
}
