//! Day 087's self-check: `cargo test -p lab-087`.
//!
//! It runs the lab into a scratch directory and reads what it wrote back.
//! Red while a group of tasks grows between the two dumps; green when
//! the summary matches the solution's snapshot.

#[test]
fn the_task_dumps_show_no_leak() {
    selfcheck::lab!();
}
