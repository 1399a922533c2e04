//! A program that links labkit starts without a word from jemalloc.
//!
//! `.cargo/config.toml` builds jemalloc's malloc_conf with profiling on (for
//! Day 089's live heap profile). A jemalloc compiled without its profiler
//! rejects that conf on every start ("<jemalloc>: Invalid conf pair:
//! prof:true"), which is what `cargo run -p labkit` and `cargo progress`
//! printed until labkit asked for the profiler itself. Run it as
//! `cargo test -p labkit`: in a whole-workspace build, Day 089's crates
//! turn the profiler on for everyone and hide the mistake.

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
