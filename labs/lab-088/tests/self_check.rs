//! Day 088's self-check: `cargo test -p lab-088`.
//!
//! It starts the lab's service on a free port on 127.0.0.1, exercises it
//! from outside and stops it. Red while SIGQUIT kills the service; green when it writes a task dump
//! and the service keeps answering.

#[test]
fn sigquit_writes_a_dump_and_the_service_keeps_serving() {
    selfcheck::lab!();
}
