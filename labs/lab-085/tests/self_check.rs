//! Day 085's self-check: `cargo test -p lab-085`.
//!
//! It runs the lab into a scratch directory and reads both profiles back.
//! Red until the block profile records the pipeline's waits; green when
//! its summary matches the solution's snapshot.

#[test]
fn the_block_profile_shows_where_the_pipeline_waits() {
    selfcheck::lab!();
}
