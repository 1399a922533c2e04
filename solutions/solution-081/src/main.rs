//! Day 081, sampling is statistics: the fixed program.
//!
//! One thread generates blocks of data, hashes them (three parts of the
//! work) and compresses them (one part). The profile must rank `hash`
//! above `compress` every time, and a sampling profiler can only do that
//! with enough samples.

use labkit::Error;
use labkit::capture::{ProfileScope, until_sampled};
use labkit::work::burn;

// ANCHOR: shape
/// Blocks processed in one round.
const BLOCKS: u64 = 20;
/// Samples the profile must hold: then each share is known to within
/// ± 5 points, 95 % of the time, on every machine. How long that takes is
/// the machine's business (a kernel ticking at 100 Hz gives at most 100
/// samples per CPU-second, at 1000 Hz ten times more; a fast laptop does a
/// round in a tenth of the time), so the run is sized by samples, not by a
/// loop count tuned on one machine.
const SAMPLES: u64 = 400;
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
        // Round after round, until the profile holds enough samples.
        for _round in until_sampled(1, SAMPLES) {
            std::hint::black_box(process_blocks(BLOCKS));
        }
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
