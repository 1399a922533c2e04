//! Day 083's self-check: `cargo test -p lab-083`.
//!
//! It runs the lab into a scratch directory and reads the profile back, as
//! `go tool pprof` would. Red until the lab writes a whole profile; green
//! when its summary matches the solution's snapshot.

#[test]
fn the_cpu_profile_is_whole_and_shows_the_workers() {
    selfcheck::lab!();
}
