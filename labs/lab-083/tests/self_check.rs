//! Day 083's self-check: `cargo test -p lab-083`.
//!
//! It runs the lab into a scratch directory and reads the profile back, as
//! `go tool pprof` would. Red until the lab writes a whole profile; green
//! when its summary matches the solution's snapshot.

use labkit::check;
use labkit::days::day083;

#[test]
fn the_cpu_profile_is_whole_and_shows_the_workers() {
    check::self_check(
        env!("CARGO_BIN_EXE_lab-083"),
        env!("CARGO_TARGET_TMPDIR"),
        "083",
        day083::check,
        "solutions/solution-083/tests/snapshots/cpu_profile__summary.snap",
    );
}
