//! `labkit`: the bench every lab and solution of the workbook stands on.
//!
//! - [`capture`]: start and stop a CPU profile (pprof-rs) and save it as
//!   pprof protobuf and an inferno flame graph.
//! - [`contention`]: Go-style block and mutex profiles over drop-in
//!   wrappers of parking_lot's locks and crossbeam's channels.
//! - [`profile`]: read a pprof file back into plain stacks.
//! - [`summary`]: turn a profile into the short, stable text that snapshots
//!   hold and the book shows.
//! - [`flame`]: flame graphs from any profile.
//! - [`out`]: command-line flags, the output directory, the closing lines.
//! - [`atomic`]: every file the kit writes appears whole or not at all.
//! - [`check`]: the self-check report (symptom, hint, page).
//! - [`days`]: what each day's profile must show.
//! - [`threads`]: exact CPU time per thread, from the kernel.
//! - [`heap`], [`trace`], [`tasks`]: dhat heap profiles, tracing-chrome
//!   traces and tokio task dumps, kept for a scope and read back.
//! - [`http`]: a tiny loopback HTTP client for services and the load driver.
//! - [`work`]: CPU work of a known size for workloads.

pub mod atomic;
pub mod capture;
pub mod check;
pub mod contention;
pub mod days;
mod error;
pub mod flame;
pub mod heap;
pub mod http;
pub mod out;
pub mod profile;
pub mod summary;
pub mod tasks;
pub mod threads;
pub mod trace;
pub mod work;

pub use error::Error;
