//! Day 082's self-check: `cargo test -p lab-082`.
//!
//! It runs the lab into a scratch directory and reads what it wrote back.
//! Red while the workers are unnamed (and, once named, until the pool also
//! runs with a shared queue); green when the summary matches the solution's snapshot.

#[test]
fn the_per_thread_view_names_the_overloaded_worker() {
    selfcheck::lab!();
}
