//! `bench`: criterion benchmarks of labkit, kept in a package of their own
//! so the root `cargo test` never builds criterion. The benchmarks are in
//! `benches/`; run them with `cargo bench -p bench`.
