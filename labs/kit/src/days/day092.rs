//! Day 092, cores and pools: while CPU-heavy jobs run, a 10 ms heartbeat
//! on the same runtime must stay on time.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::check::Failure;

pub const DAY: &str = "092";

/// The batch: 8 uploads of about 0.1 s of CPU each.
pub const JOBS: u64 = 8;
pub const HASH_UNITS: u64 = 700;
/// The heartbeat's period.
pub const TICK: Duration = Duration::from_millis(10);

/// The file the heartbeat's lateness is saved in (µs, one tick a line).
pub const LATENESS_FILE: &str = "lateness.txt";

/// Measured on the 2-core machine of the workbook: with the jobs on the
/// async workers, the latest tick came 376–377 ms late (other core idle)
/// and 640–780 ms late (other core busy); on the blocking pool, about 4 ms
/// and at most 9 ms.
pub const MAX_LATENESS: Duration = Duration::from_millis(40);

/// How late the heartbeat was.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub ticks: usize,
    pub max: Duration,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "heartbeat every {} ms while {JOBS} uploads were hashed",
            TICK.as_millis()
        )?;
        let met = if self.max < MAX_LATENESS {
            "met"
        } else {
            "missed"
        };
        writeln!(
            f,
            "latest tick: under {} ms late ({met})",
            MAX_LATENESS.as_millis()
        )
    }
}

/// Writes the lateness of every tick, atomically.
pub fn save_lateness(dir: &Path, lateness: &[Duration]) -> Result<(), crate::Error> {
    let text: String = lateness
        .iter()
        .map(|d| format!("{}\n", d.as_micros()))
        .collect();
    crate::atomic::write_bytes(&dir.join(LATENESS_FILE), text.as_bytes())
}

/// Reads `dir/lateness.txt` and checks the heartbeat kept time.
pub fn check(dir: &Path) -> Result<Outcome, Failure> {
    let fail = |symptom: String, hint: &'static str| Failure {
        day: DAY,
        symptom,
        hint,
    };
    let path = dir.join(LATENESS_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        fail(
            format!("cannot read {}: {e}", path.display()),
            "run the program again and read what it printed when it stopped",
        )
    })?;
    let lateness: Vec<Duration> = text
        .lines()
        .map(|l| l.trim().parse::<u64>().map(Duration::from_micros))
        .collect::<Result<_, _>>()
        .map_err(|_| {
            fail(
                format!(
                    "{} holds something other than microseconds, one a line",
                    path.display()
                ),
                "run the program again",
            )
        })?;
    let max = lateness.iter().max().copied().unwrap_or_default();
    if max >= MAX_LATENESS {
        return Err(fail(
            format!(
                "heartbeat ticks were up to {} ms late: CPU-bound jobs are running on the async \
                 worker threads",
                max.as_millis()
            ),
            "a task with no .await holds its worker until it is done; run CPU-heavy work with \
             tokio::task::spawn_blocking (or on a rayon pool sized to the cores)",
        ));
    }
    if lateness.len() < 10 {
        return Err(fail(
            format!("the heartbeat ticked only {} times", lateness.len()),
            "keep the heartbeat running until every job is done",
        ));
    }
    Ok(Outcome {
        ticks: lateness.len(),
        max,
    })
}

/// Checks what a run wrote into `dir` and prints the closing lines.
pub fn report(dir: &Path) {
    crate::check::report(&[dir.join(LATENESS_FILE)], &check(dir));
}
