//! Day 081's self-check: `cargo test -p lab-081`.
//!
//! It runs the lab into a scratch directory and reads what it wrote back.
//! Red while the run is too short to rank anything; green when its summary
//! matches the solution's snapshot.

#[test]
fn the_profile_has_enough_samples_to_rank() {
    selfcheck::lab!();
}
