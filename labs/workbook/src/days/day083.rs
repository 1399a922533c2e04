//! Day 083, profiling concurrent code: the CPU profile of a worker pool must
//! be a whole, readable file that shows the workers' frames on top.

use std::path::Path;

use crate::verdict::Failure;
use labkit::capture::PPROF_FILE;
use labkit::profile::{self, LoadError};
use labkit::summary::{self, CpuSummary};

pub const DAY: &str = crate::registry::module_day(module_path!());
/// What the lab as shipped fails with, from its registry entry.
const SYMPTOM: &str = crate::registry::symptom(DAY);
/// The question a red self-check asks: where to look, never the fix.
const FIRST_HINT: &str = crate::registry::first_hint(DAY);

/// The floor the summary asks for. The producer keeps feeding jobs until the
/// profile holds 400 samples (`labkit::capture::until_sampled`), on any
/// machine and kernel tick; 300 leaves room below that, and puts the ranges
/// checked below at least 4 standard errors from the true 4:1 split.
pub const MIN_SAMPLES: i64 = 300;

/// Reads `dir/cpu.pb.gz` and checks it is the profile the day expects.
pub fn check(dir: &Path) -> Result<CpuSummary, Failure> {
    let fail = |symptom: String, hint: &'static str| Failure {
        day: DAY,
        symptom,
        hint,
    };
    let path = dir.join(PPROF_FILE);
    let profile = profile::load(&path).map_err(|e| match e {
        LoadError::Empty(_) => fail(SYMPTOM.into(), FIRST_HINT),
        LoadError::Truncated(_, n) => fail(
            format!("cpu profile is truncated ({n} bytes, its gzip stream stops early)"),
            FIRST_HINT,
        ),
        other => fail(
            format!("cpu profile cannot be read: {other}"),
            "run the program again and read what it printed when it stopped",
        ),
    })?;
    let mut summary = summary::cpu(&profile, MIN_SAMPLES);
    if summary.samples < MIN_SAMPLES {
        return Err(crate::verdict::too_few_samples(
            DAY,
            summary.samples,
            MIN_SAMPLES,
        ));
    }
    crate::verdict::expect_shares(
        DAY,
        &mut summary,
        &[
            ("worker", 90.0, 100.1),
            ("checksum", 65.0, 92.0),
            ("encode", 10.0, 30.0),
        ],
        "the workers' work is checksum (4 parts) then encode (1 part); \
         keep that split and the frames' #[inline(never)]",
    )?;
    Ok(summary)
}

/// Checks what a run wrote into `dir` and prints the closing lines.
pub fn report(dir: &Path) {
    let files = [dir.join(PPROF_FILE), dir.join(labkit::capture::FLAME_FILE)];
    crate::verdict::report(&files, &check(dir));
}
