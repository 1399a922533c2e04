//! Day 081, sampling is statistics: the ranking of two functions with a
//! real 3:1 split must come out right every time, which takes enough
//! samples.

use std::path::Path;

use crate::verdict::Failure;
use labkit::capture::PPROF_FILE;
use labkit::summary::CpuSummary;

pub const DAY: &str = crate::registry::module_day(module_path!());
/// What the lab as shipped fails with, from its registry entry.
const SYMPTOM: &str = crate::registry::symptom(DAY);
/// The question a red self-check asks: where to look, never the fix.
const FIRST_HINT: &str = crate::registry::first_hint(DAY);

/// Enough samples that a share is known to ± 6 points (95 %): the gap
/// between `hash` (60 %) and `compress` (20 %) is then never in doubt. One
/// standard error of `hash` is 2.8 points here, so the ranges checked below
/// sit at least 4 of them from the true shares. The fixed program runs
/// until its profile holds 400 samples, so every machine gets there.
pub const MIN_SAMPLES: i64 = 300;

/// Reads `dir/cpu.pb.gz` and checks it is the profile the day expects.
pub fn check(dir: &Path) -> Result<CpuSummary, Failure> {
    let mut summary = crate::verdict::load_cpu_summary(DAY, &dir.join(PPROF_FILE), MIN_SAMPLES)?;
    if summary.samples < MIN_SAMPLES {
        return Err(Failure {
            day: DAY,
            symptom: format!(
                "cpu profile has {} samples, {SYMPTOM} (want at least {MIN_SAMPLES})",
                summary.samples
            ),
            hint: FIRST_HINT,
        });
    }
    crate::verdict::expect_shares(
        DAY,
        &mut summary,
        &[
            ("process_blocks", 90.0, 100.1),
            ("hash", 48.0, 72.0),
            ("compress", 10.0, 30.0),
            ("generate", 10.0, 30.0),
        ],
        "keep the 1:3:1 split of generate, hash and compress",
    )?;
    Ok(summary)
}

/// Checks what a run wrote into `dir` and prints the closing lines.
pub fn report(dir: &Path) {
    let files = [dir.join(PPROF_FILE), dir.join(labkit::capture::FLAME_FILE)];
    crate::verdict::report(&files, &check(dir));
}
