//! Day 084's self-check: `cargo test -p lab-084`.
//!
//! It runs the lab into a scratch directory and reads what it wrote back.
//! Red until dhat records the whole order run; green when the summary
//! matches the solution's snapshot.

#[test]
fn the_heap_profile_covers_the_orders() {
    selfcheck::lab!();
}
