//! Day 080's self-check: `cargo test -p lab-080`.
//!
//! It runs the lab into a scratch directory and reads what it wrote back.
//! Red until the profile covers the batch; green when its summary matches
//! the solution's snapshot.

#[test]
fn the_cpu_profile_covers_the_whole_batch() {
    selfcheck::lab!();
}
