//! Day 092, cores and pools: while CPU-heavy jobs run, a 10 ms heartbeat
//! on the same runtime must stay on time.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::verdict::Failure;

pub const DAY: &str = crate::registry::module_day(module_path!());
/// What the lab as shipped fails with, from its registry entry.
const SYMPTOM: &str = crate::registry::symptom(DAY);
/// The question a red self-check asks: where to look, never the fix.
const FIRST_HINT: &str = crate::registry::first_hint(DAY);

/// The batch: 8 uploads of 0.1 s of CPU each. A job's size is CPU time,
/// not a loop count (`labkit::work::burn_cpu`): on a laptop ten times
/// faster a loop-sized job took 10 ms, and the heartbeat's yardstick (a
/// share of one job) shrank to the timer's own jitter.
pub const JOBS: u64 = 8;
pub const HASH_CPU: Duration = Duration::from_millis(100);
/// The heartbeat's period.
pub const TICK: Duration = Duration::from_millis(10);

/// The files a run writes: how late each tick was, and how long each job
/// took (µs, one a line).
pub const LATENESS_FILE: &str = "lateness.txt";
pub const JOBS_FILE: &str = "jobs.txt";

/// The yardstick: the heartbeat may be late by at most this share of one
/// job's wall time, measured in the same run. A job that holds an async
/// worker delays the heartbeat by at least the rest of that job (here,
/// with 8 jobs on 2 workers, by about four jobs); a job on the blocking
/// pool delays it only by the OS scheduler's slices. Both sides stretch
/// alike when the machine is busy, so the verdict does not move with load.
/// Measured with 0 and 4 busy loops: see the page.
pub const MAX_LATENESS_PER_JOB: f64 = 0.25;

/// How late the heartbeat was, against how long one job took.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub ticks: usize,
    pub max: Duration,
    /// The median job's wall time.
    pub job: Duration,
}

impl Outcome {
    /// The latest tick's lateness, in jobs.
    pub fn lateness_in_jobs(&self) -> f64 {
        crate::verdict::share(self.max, self.job)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "heartbeat every {} ms while {JOBS} uploads were hashed",
            TICK.as_millis()
        )?;
        let met = crate::verdict::met(self.lateness_in_jobs() < MAX_LATENESS_PER_JOB);
        writeln!(
            f,
            "latest tick: late by under {MAX_LATENESS_PER_JOB} of one job's wall time ({met})"
        )
    }
}

/// Writes how late every tick was and how long every job took, each
/// atomically.
pub fn save(dir: &Path, lateness: &[Duration], jobs: &[Duration]) -> Result<(), labkit::Error> {
    for (file, times) in [(JOBS_FILE, jobs), (LATENESS_FILE, lateness)] {
        let text: String = times
            .iter()
            .map(|d| format!("{}\n", d.as_micros()))
            .collect();
        labkit::atomic::write_bytes(&dir.join(file), text.as_bytes())?;
    }
    Ok(())
}

/// Reads one file of microseconds, one a line.
fn load_micros(path: &Path) -> Result<Vec<Duration>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.lines()
        .map(|l| l.trim().parse::<u64>().map(Duration::from_micros))
        .collect::<Result<_, _>>()
        .map_err(|_| {
            format!(
                "{} holds something other than microseconds, one a line",
                path.display()
            )
        })
}

/// Reads `dir/lateness.txt` and `dir/jobs.txt` and checks the heartbeat
/// kept time, measured in jobs.
pub fn check(dir: &Path) -> Result<Outcome, Failure> {
    let fail = |symptom: String, hint: &'static str| Failure {
        day: DAY,
        symptom,
        hint,
    };
    let rerun = "run the program again and read what it printed when it stopped";
    let lateness = load_micros(&dir.join(LATENESS_FILE)).map_err(|e| fail(e, rerun))?;
    let mut jobs = load_micros(&dir.join(JOBS_FILE)).map_err(|e| fail(e, rerun))?;
    if jobs.len() as u64 != JOBS {
        return Err(fail(
            format!("{} job times were recorded, not {JOBS}", jobs.len()),
            "keep every job's wall time: hash_upload returns it",
        ));
    }
    jobs.sort_unstable();
    let outcome = Outcome {
        ticks: lateness.len(),
        max: lateness.iter().max().copied().unwrap_or_default(),
        job: jobs[jobs.len() / 2],
    };
    if outcome.lateness_in_jobs() >= MAX_LATENESS_PER_JOB {
        return Err(fail(
            format!(
                "heartbeat ticks were up to {} ms late, {:.1}× the {} ms one job took: {SYMPTOM}",
                outcome.max.as_millis(),
                outcome.lateness_in_jobs(),
                outcome.job.as_millis()
            ),
            FIRST_HINT,
        ));
    }
    if outcome.ticks < 10 {
        return Err(fail(
            format!("the heartbeat ticked only {} times", outcome.ticks),
            "keep the heartbeat running until every job is done",
        ));
    }
    Ok(outcome)
}

/// Checks what a run wrote into `dir` and prints the closing lines.
pub fn report(dir: &Path) {
    let files = [dir.join(LATENESS_FILE), dir.join(JOBS_FILE)];
    crate::verdict::report(&files, &check(dir));
}
