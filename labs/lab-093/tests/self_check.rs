//! Day 093's self-check: `cargo test -p lab-093`.
//!
//! It runs the lab into a scratch directory, compares the profiles it wrote
//! by share of each side's samples, and checks the lab's verdict against
//! that. Red while the lab compares raw sample counts of runs of different
//! length; green when its verdict is what the normalised, repeated
//! comparison shows.

#[test]
fn the_verdict_matches_the_profiles() {
    selfcheck::lab!();
}
