//! A program that links labkit starts without a word from jemalloc.
//!
//! Once, jemalloc's options (profiling on, for Day 089's live heap) were
//! set for every build in `.cargo/config.toml`, and a jemalloc compiled
//! without its profiler rejected them on every start ("<jemalloc>: Invalid
//! conf pair: prof:true"): `cargo run -p labkit` and `cargo progress`
//! printed it. The options now belong to the `live-heap` crate, which only
//! Day 089's programs link. labkit's tests build it with every feature, so
//! jemalloc (through jemalloc_pprof) is in this binary: it must stay quiet.

use std::process::Command;

#[test]
fn labkit_starts_without_a_word_from_jemalloc() {
    let out = Command::new(env!("CARGO_BIN_EXE_labkit"))
        .arg("--help")
        .output()
        .expect("labkit runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("jemalloc"), "{stderr}");
}
