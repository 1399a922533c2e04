//! Day 086, the mutex profile: a worker pool whose shared statistics sit
//! under one lock. The fixed program's hot lock must keep others waiting
//! for under a tenth of the workers' time, where the lab's keeps them
//! waiting for most of it.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::verdict::Failure;
use labkit::profile::{self, LoadError};
use labkit::summary::{self, Kind, Summary};

pub const DAY: &str = crate::registry::module_day(module_path!());
/// What the lab as shipped fails with, from its registry entry.
const SYMPTOM: &str = crate::registry::symptom(DAY);
/// The question a red self-check asks: where to look, never the fix.
const FIRST_HINT: &str = crate::registry::first_hint(DAY);

/// The day's flags, by name: `--workers N --items N`.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct Flags {
    /// Worker threads sharing the statistics
    #[arg(long, value_name = "N", default_value_t = 4, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u64).range(1..=256))]
    pub workers: u64,
    /// Items to process
    #[arg(long, value_name = "N", default_value_t = 400, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub items: u64,
}

/// The file a run records its item count and duration in.
pub const RUN_FILE: &str = "run.txt";

/// The yardstick: the waiting that `record_result`'s releases cause, as a
/// share of the workers' own time (workers × the run's wall time), both
/// measured in the same run. With the slow rendering inside the lock, at
/// most one worker works while the others queue for it (about 70% of the
/// pool's time is waiting); with it outside, the lock is held for a few
/// instructions. A busy machine stretches the waiting and the run alike.
pub const MAX_WAIT_SHARE: f64 = 0.10;

pub const MIN_CONTENTIONS: i64 = 20;

/// A run's outcome: the mutex profile's summary and the waiting charged to
/// the hot lock's releases, against the workers' time.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub mutex: Summary,
    /// Waiting caused by releases in `record_result`.
    pub hot_wait: Duration,
    /// Workers × the run's wall time.
    pub worker_time: Duration,
}

impl Outcome {
    /// The hot lock's waiting as a share of the workers' time.
    pub fn wait_share(&self) -> f64 {
        crate::verdict::share(self.hot_wait, self.worker_time)
    }
}

impl fmt::Display for Outcome {
    /// Only what is stable goes into the text: the bands of the profile and
    /// whether the target was met.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.mutex)?;
        let met = crate::verdict::met(self.wait_share() < MAX_WAIT_SHARE);
        writeln!(
            f,
            "waiting caused by record_result: under {:.0}% of the workers' time ({met})",
            MAX_WAIT_SHARE * 100.0
        )
    }
}

/// Writes `run.txt`: the worker count and the run's duration, atomically.
pub fn save_run(dir: &Path, workers: usize, elapsed: Duration) -> Result<(), labkit::Error> {
    let text = format!("workers {workers}\nelapsed_ns {}\n", elapsed.as_nanos());
    labkit::atomic::write_bytes(&dir.join(RUN_FILE), text.as_bytes())
}

fn load_run(dir: &Path) -> Result<(u64, Duration), String> {
    let path = dir.join(RUN_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                format!(
                    "{} has no `{name} <number>` line (expected `workers N` and `elapsed_ns N`)",
                    path.display()
                )
            })
    };
    Ok((
        field("workers")?,
        Duration::from_nanos(field("elapsed_ns")?),
    ))
}

/// Reads `dir/mutex.pb.gz` and `dir/run.txt` and checks the fix.
pub fn check(dir: &Path) -> Result<Outcome, Failure> {
    let fail = |symptom: String, hint: &'static str| Failure {
        day: DAY,
        symptom,
        hint,
    };
    let rerun = "run the program again and read what it printed when it stopped";
    let mutex = profile::load(&dir.join("mutex.pb.gz"))
        .map_err(|e: LoadError| fail(format!("the mutex profile cannot be read: {e}"), rerun))?;
    let (workers, elapsed) = load_run(dir).map_err(|e| fail(e, rerun))?;
    let summary = summary::summarise(&mutex, Kind::Mutex, MIN_CONTENTIONS);
    // The hot lock's share: the waiting charged to releases inside
    // record_result. Other locks (the audit log's) are not what this day
    // fixes, and their waiting grows with scheduling delays on a busy
    // machine, so they are left out of the measure.
    let hot_delay = mutex.total(1).max(0) as f64 * summary.percent("record_result") / 100.0;
    let outcome = Outcome {
        hot_wait: Duration::from_nanos(hot_delay as u64),
        worker_time: elapsed * workers.max(1) as u32,
        mutex: summary,
    };
    if outcome.mutex.samples == 0 {
        return Err(fail(
            "mutex profile has 0 contentions: was the mutex profile fraction set to 0?".into(),
            "keep labkit::contention::set_mutex_profile_fraction(1) at the start of main",
        ));
    }
    if outcome.wait_share() >= MAX_WAIT_SHARE {
        return Err(fail(
            format!(
                "{SYMPTOM} {:.0}% of the workers' time (a fix brings it under {:.0}%)",
                outcome.wait_share() * 100.0,
                MAX_WAIT_SHARE * 100.0
            ),
            FIRST_HINT,
        ));
    }
    Ok(outcome)
}

/// Checks what a run wrote into `dir` and prints the closing lines.
pub fn report(dir: &Path) {
    let files = ["mutex.pb.gz", "mutex.svg", RUN_FILE].map(|f| dir.join(f));
    crate::verdict::report(&files, &check(dir));
}
