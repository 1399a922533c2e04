//! Day 095's self-check: `cargo test -p lab-095`.
//!
//! It runs the lab into a scratch directory and reads what it wrote back:
//! red while the profile's `kind` labels split `render`'s samples unlike
//! the pages each kind of request rendered (counted exactly in the same
//! run); green when they agree and the summary matches the solution's
//! snapshot.

#[test]
fn the_labels_say_whose_cpu_it_is() {
    selfcheck::lab!();
}
