//! Day 091, benchmarks that profile: the lab.
//!
//! A criterion benchmark of `checksum`, run the two ways `cargo bench` runs
//! one: first measured (criterion's time per iteration), then under
//! `--profile-time`, where criterion only iterates and pprof-rs, attached
//! as criterion's profiler, records a CPU profile of the benchmark. Beside
//! them the program times the same function by hand, as a yardstick.
//!
//! The pitfall only exists in optimised code, which is what `cargo bench`
//! builds: this package is built optimised even by `cargo run` and `cargo
//! test` (see `[profile.dev.package.lab-091]` in the workspace's
//! Cargo.toml).
//!
//! Run it (`cargo run -p lab-091`), read the time criterion printed and the
//! profile. Fix it, then self-check with `cargo test -p lab-091`. The page
//! is `book/day-091.md`.

use std::hint::black_box;

use criterion::Criterion;
use labkit::Error;
use labkit::capture::frequency_hz;
use pprof::criterion::{Output, PProfProfiler};
use workbook::days::day091;

fn main() -> Result<(), Error> {
    let out_dir = workbook::this_day!().out_dir();
    let criterion_dir = day091::fresh_criterion_dir(&out_dir)?;
    let data = day091::input();

    // The yardstick: the same call timed by hand, just before and just
    // after criterion measures it, in this run.
    let by_hand = || checksum(black_box(&data));

    // ANCHOR: run
    // `cargo bench`: warm up, then time batches of iterations.
    let before = day091::time_by_hand(by_hand);
    let mut measured = Criterion::default()
        .output_directory(&criterion_dir)
        .warm_up_time(day091::WARM_UP)
        .measurement_time(day091::MEASUREMENT)
        .sample_size(day091::SAMPLES)
        .nresamples(day091::RESAMPLES)
        .without_plots();
    benchmarks(&mut measured, &data);
    let after = day091::time_by_hand(by_hand);

    // `cargo bench -- --profile-time 3`: no timing; criterion iterates for
    // the given time with the profiler on, which writes profile.pb.
    let mut profiled = Criterion::default()
        .output_directory(&criterion_dir)
        .with_profiler(PProfProfiler::new(frequency_hz()?, Output::Protobuf))
        .profile_time(Some(day091::PROFILE_TIME))
        .without_plots();
    benchmarks(&mut profiled, &data);
    // ANCHOR_END: run

    day091::save_reference(&out_dir, before, after)?;
    day091::save_flame_graph(&out_dir)?;
    workbook::this_day!().report(&out_dir);
    Ok(())
}

// ANCHOR: bench
fn benchmarks(c: &mut Criterion, data: &[u8]) {
    c.bench_function(day091::BENCHMARK, |b| {
        b.iter(|| {
            checksum(data);
        })
    });
}
// ANCHOR_END: bench

// ANCHOR: checksum
/// The function under test: FNV-1a, 64 bits, over every byte.
fn checksum(data: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for &byte in data {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}
// ANCHOR_END: checksum
