//! Day 080, a first CPU profile: the lab.
//!
//! One thread scores a batch of records: it parses each one (one part of
//! the work) and scores it (four parts). The whole batch is profiled, and
//! the profile is saved as `cpu.pb.gz` and `cpu.svg` when the profiling
//! scope ends.
//!
//! Run it (`cargo run -p lab-080`): the batch takes a second or more of
//! CPU, yet the profile says something else. Fix it, then self-check with
//! `cargo test -p lab-080`. The page is `book/day-080.md`.

use labkit::Error;
use labkit::capture::{ProfileScope, until_sampled};
use labkit::work::burn;

// ANCHOR: shape
/// Records in the batch.
const RECORDS: u64 = 1_500;
/// Samples the profile must hold before the batch stops: while the profiler
/// runs, the records keep coming until it has this many (Day 081 says why a
/// profile is sized by its samples, not by its loop count).
const SAMPLES: u64 = 400;
/// CPU per record, in `labkit::work` units: a 1:4 split, wide enough that
/// the ranking never flips.
const PARSE_UNITS: u64 = 1;
const SCORE_UNITS: u64 = 4;
// ANCHOR_END: shape

fn main() -> Result<(), Error> {
    let out_dir = workbook::this_day!().out_dir();

    // ANCHOR: scope
    {
        // The scope profiles until it is dropped, then saves the profile.
        let _ = ProfileScope::start(&out_dir)?;
        let total = score_batch();
        std::hint::black_box(total);
    }
    // ANCHOR_END: scope

    workbook::this_day!().report(&out_dir);
    Ok(())
}

// ANCHOR: work
#[inline(never)]
fn score_batch() -> u64 {
    let mut total = 0u64;
    for record in until_sampled(RECORDS, SAMPLES) {
        let fields = parse(record);
        total = total.wrapping_add(score(fields));
    }
    total
}

#[inline(never)]
fn parse(record: u64) -> u64 {
    burn(PARSE_UNITS, record).rotate_left(5)
}

#[inline(never)]
fn score(fields: u64) -> u64 {
    burn(SCORE_UNITS, fields).rotate_left(9)
}
// ANCHOR_END: work
