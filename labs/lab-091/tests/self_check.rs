//! Day 091's self-check: `cargo test -p lab-091`.
//!
//! It runs the lab (built optimised, see the workspace's Cargo.toml) into a
//! scratch directory and reads back what criterion and pprof-rs wrote. Red
//! while the benchmark times an empty loop; green when the profile shows
//! the function under test and criterion's time per iteration agrees with
//! the same function timed by hand.

#[test]
fn the_benchmark_measures_checksum() {
    selfcheck::lab!();
}
