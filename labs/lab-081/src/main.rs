//! Day 081, sampling is statistics: the lab.
//!
//! One thread generates blocks of data, hashes them (three parts of the
//! work) and compresses them (one part). The profile must rank `hash`
//! above `compress` every time, and a sampling profiler can only do that
//! with enough samples.
//!
//! Run it a few times (`cargo run -p lab-081`) and compare the rankings.
//! Then make the profile trustworthy and self-check with
//! `cargo test -p lab-081`. The page is `book/day-081.md`.

use labkit::Error;
use labkit::capture::ProfileScope;
use labkit::work::burn;

// ANCHOR: shape
/// Blocks processed: a quick run.
const BLOCKS: u64 = 20;
// ANCHOR_END: shape
/// CPU per block, in `labkit::work` units. `hash` and
/// `compress` split 3:1; generating the input costs as much as compressing.
const GENERATE_UNITS: u64 = 1;
const HASH_UNITS: u64 = 3;
const COMPRESS_UNITS: u64 = 1;

fn main() -> Result<(), Error> {
    let out_dir = workbook::this_day!().out_dir();
    // ANCHOR: run
    {
        let _profile = ProfileScope::start(&out_dir)?;
        std::hint::black_box(process_blocks(BLOCKS));
    }
    // ANCHOR_END: run
    workbook::this_day!().report(&out_dir);
    Ok(())
}

// ANCHOR: work
#[inline(never)]
fn process_blocks(blocks: u64) -> u64 {
    let mut digest = 0u64;
    for block in 0..blocks {
        let data = generate(block);
        let h = hash(data);
        digest ^= compress(h);
    }
    digest
}

#[inline(never)]
fn generate(block: u64) -> u64 {
    burn(GENERATE_UNITS, block).rotate_left(1)
}

#[inline(never)]
fn hash(data: u64) -> u64 {
    burn(HASH_UNITS, data).rotate_left(3)
}

#[inline(never)]
fn compress(data: u64) -> u64 {
    burn(COMPRESS_UNITS, data).rotate_left(7)
}
// ANCHOR_END: work
