//! `labkit`: a profiling toolkit for concurrent Rust. It knows no day of
//! the workbook (that is the `workbook` crate); anyone could use it.
//!
//! - [`capture`]: start and stop a CPU profile (labkit's SIGPROF sampler) and save it as
//!   pprof protobuf and an inferno flame graph.
//! - [`contention`]: Go-style block and mutex profiles over drop-in
//!   wrappers of parking_lot's locks and crossbeam's channels.
//! - [`profile`]: read a pprof file back into plain stacks.
//! - [`own`]: which frames are the profiled program's own (its crates, not
//!   std, the runtime or a library), named by the profile or by the caller.
//! - [`summary`]: turn a profile into the short, stable text that snapshots
//!   hold and the book shows.
//! - [`flame`]: flame graphs from any profile.
//! - [`diff`]: compare two profiles (or two sets of runs) by share, beyond
//!   the samples' margin, and draw a differential flame graph.
//! - [`cli`]: the flags programs share (`--out`, `--addr`), for clap.
//! - [`out`]: the output directory, the closing lines of a run.
//! - [`atomic`]: every file the kit writes appears whole or not at all.
//! - [`threads`]: exact CPU time per thread, from the kernel.
//! - [`heap`], [`trace`], [`tasks`]: dhat heap profiles, tracing-chrome
//!   traces and tokio task dumps, kept for a scope and read back.
//! - [`http`]: a tiny loopback HTTP client for services and the load driver.
//! - [`endpoints`]: Go's `/debug/pprof/` set for an axum service (index,
//!   jemalloc's live heap, block and mutex with `?seconds=N`, tasks, trace).
//! - [`net`]: an accept loop that backs off instead of spinning, and an
//!   HTTP server that times out half-sent requests.
//! - [`work`]: CPU work of a known size for workloads.
//! - [`view`]: the summary's other views (a sample type, per thread, from a URL).
//!
//! A program links only what it records: the readers, the CPU profiler and
//! the contention profiles are always there; the features `heap` (dhat),
//! `trace` (tracing-chrome), `tasks` (tokio task dumps), `net` (the accept
//! loop) and `endpoints` (the service's `/debug/pprof/` set, its HTTP
//! server and jemalloc's live heap) add the recorders that need more.

pub mod atomic;
pub mod capture;
pub mod cli;
pub mod contention;
pub mod counts;
pub mod diff;
#[cfg(feature = "endpoints")]
pub mod endpoints;
mod error;
pub mod flame;
pub mod goroutine;
pub mod heap;
pub mod http;
#[cfg(feature = "endpoints")]
mod jemalloc_heap;
pub mod labels;
pub mod net;
pub mod out;
pub mod own;
pub mod profile;
pub mod proto;
pub mod quit_dump;
pub mod shutdown;
mod signal_walk;
mod stacks;
pub mod summary;
pub mod tasks;
pub mod thread_dump;
#[cfg(feature = "threadcreate")]
pub mod threadcreate;
pub mod threads;
pub mod trace;
pub mod view;
pub mod work;

pub use error::Error;
