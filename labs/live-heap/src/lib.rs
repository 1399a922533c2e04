//! jemalloc as a program's allocator, with its heap profiler on from the
//! first allocation. A program opts in with one line in its binary:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: live_heap::Jemalloc = live_heap::Jemalloc;
//! ```
//!
//! and `labkit::endpoints` then serves the live heap at
//! `/debug/pprof/heap`. Programs that do not link this crate keep the
//! system allocator and pay nothing.
//!
//! jemalloc reads its options, once, when it starts, from a C string it
//! looks up under the symbol `malloc_conf` (`_rjem_malloc_conf` for the
//! prefixed jemalloc that tikv-jemallocator builds). jemalloc's own
//! definition is weak, so the one below wins wherever this crate is linked,
//! and only there: the options belong to the program that asks for them,
//! not to every build of the workspace.

/// The allocator: tikv-jemallocator's, built with jemalloc's profiler.
pub use tikv_jemallocator::Jemalloc;

/// jemalloc's options for a live heap profile:
///
/// - `prof:true` compiles nothing and costs nothing by itself; it lets the
///   profiler run;
/// - `prof_active:true` samples from the first allocation;
/// - `lg_prof_sample:19` samples one allocation per 2^19 bytes (512 KiB)
///   on average, Go's default `runtime.MemProfileRate`: a rate a service
///   can afford;
/// - `prof_accum:true` counts what each sampled stack allocated since the
///   start, not only what it holds now: Go's `alloc_objects` and
///   `alloc_space` beside `inuse_*`. jemalloc then keeps every sampled
///   stack for good, one record per distinct allocating stack: kilobytes
///   for a service, whose allocation sites are few.
pub const OPTIONS: &str = "prof:true,prof_active:true,lg_prof_sample:19,prof_accum:true";

/// [`OPTIONS`] as jemalloc reads them: a NUL-terminated C string behind a
/// thin pointer (a `&[u8; N]` is one pointer wide, like `const char *`).
// SAFETY of the export: jemalloc declares `const char *malloc_conf` and
// only reads it; no other crate in a program may define this symbol.
#[allow(unsafe_code)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static MALLOC_CONF: &[u8; OPTIONS.len() + 1] = &conf();

const fn conf() -> [u8; OPTIONS.len() + 1] {
    let mut bytes = [0u8; OPTIONS.len() + 1];
    let options = OPTIONS.as_bytes();
    let mut i = 0;
    while i < options.len() {
        bytes[i] = options[i];
        i += 1;
    }
    bytes
}
