//! Day 090's self-check: `cargo test -p lab-090`.
//!
//! It runs the lab into a scratch directory and reads what it wrote back.
//! Red until the trace is finished after the pipeline, not before; green
//! when its summary matches the solution's snapshot.

#[test]
fn the_trace_holds_the_whole_pipeline() {
    selfcheck::lab!();
}
