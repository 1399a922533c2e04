//! `workbook`: the curriculum, on top of the `labkit` toolkit.
//!
//! labkit knows how to profile; this crate knows what each day teaches and
//! how to tell whether a learner's program has learnt it. The layout:
//!
//! - [`registry`]: every day, declared once (id, title, documented
//!   symptom, how it is checked). Everything else — package names, pages,
//!   snapshots, default output directories, CI's red check, `cargo
//!   progress` — is derived from an entry, so a day's id is typed in one
//!   place.
//! - [`days`]: one module per day with the facts its programs share
//!   (workload sizes, file names, thresholds) and its `check`, used three
//!   ways: the lab's `main` says what is wrong with what it just wrote, the
//!   lab's self-check fails with that symptom, and the solution's test
//!   snapshots the summary a passing check returns.
//! - [`verdict`]: what a check says when it fails ([`Failure`]: symptom,
//!   hint, page) and the closing lines of a run.
//! - [`cli`]: a day's command line (`--out`, and the day's own flags),
//!   with defaults taken from the registry.
//! - [`machines`]: the learners' machines every verdict must hold on
//!   (ten times faster, a kernel ticking at 100 Hz), emulated here.
//! - [`service`]: what a check needs from a running service; the test
//!   harness (the `selfcheck` crate) provides the child process.
//! - `labs/workbook-cli`: the `workbook` command, `check` (CI's project check)
//!   and `progress` (`cargo progress`).
//!
//! The test harness (running a program, scratch directories, snapshots,
//! `go tool pprof`) lives in `selfcheck`, a dev-dependency: a lab's program
//! links the checks that judge it, never the assertions of its tests.

pub mod cli;
pub mod days;
pub mod machines;
pub mod registry;
pub mod service;
pub mod verdict;

pub use registry::{Check, DAYS, Day};
pub use verdict::Failure;

/// The workspace root (`labs/workbook/../..`), fixed at compile time, so
/// a program finds `lab-out/`, the book and the snapshots from any
/// current directory.
pub fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("labs/workbook sits two levels under the workspace root")
        .to_path_buf()
}

/// The day of the package being compiled (`lab-083`, `solution-083`), from
/// the registry: a lab never types its own id.
#[macro_export]
macro_rules! this_day {
    () => {
        $crate::Day::from_package(env!("CARGO_PKG_NAME"))
    };
}
