//! Day 080, a first CPU profile: one thread's batch, profiled from start to
//! end, with the 1:4 split between parsing and scoring plain to see.

use std::path::Path;

use crate::verdict::Failure;
use labkit::capture::PPROF_FILE;
use labkit::summary::CpuSummary;

pub const DAY: &str = crate::registry::module_day(module_path!());
/// What the lab as shipped fails with, from its registry entry.
const SYMPTOM: &str = crate::registry::symptom(DAY);
/// The question a red self-check asks: where to look, never the fix.
const FIRST_HINT: &str = crate::registry::first_hint(DAY);

/// The samples the summary ranks with. The program repeats its batch until
/// the profile holds 400 (`labkit::capture::until_sampled`), on any machine
/// and any kernel tick; 300 leaves room below that. At 300 samples one
/// standard error of the 20 % share is 2.3 points, so the ranges checked
/// below sit at least 4 standard errors from the true shares.
pub const MIN_SAMPLES: i64 = 300;

/// Reads `dir/cpu.pb.gz` and checks it is the profile the day expects.
pub fn check(dir: &Path) -> Result<CpuSummary, Failure> {
    let mut summary = crate::verdict::load_cpu_summary(DAY, &dir.join(PPROF_FILE), MIN_SAMPLES)?;
    let fail = |symptom: String, hint: &'static str| Failure {
        day: DAY,
        symptom,
        hint,
    };
    if summary.samples == 0 {
        return Err(fail(SYMPTOM.into(), FIRST_HINT));
    }
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
            ("score_batch", 90.0, 100.1),
            ("score", 65.0, 92.0),
            ("parse", 10.0, 30.0),
        ],
        "keep the 1:4 split between parse and score, and their #[inline(never)]",
    )?;
    Ok(summary)
}

/// Checks what a run wrote into `dir` and prints the closing lines.
pub fn report(dir: &Path) {
    let files = [dir.join(PPROF_FILE), dir.join(labkit::capture::FLAME_FILE)];
    crate::verdict::report(&files, &check(dir));
}
