//! Day 082, whose CPU is it?: a worker pool with one overloaded worker.
//! One pitfall: unnamed threads, which the per-thread view cannot tell
//! apart. Lab and solution both run the pool a second time with a shared
//! queue; the check holds that run to what it guarantees (no worker idle
//! while work waits), so a fix that breaks it is caught too.

use std::fmt;
use std::path::Path;

use crate::verdict::Failure;
use labkit::capture::PPROF_FILE;
use labkit::summary::{Summary, ThreadSection};
use labkit::threads;

pub const DAY: &str = crate::registry::module_day(module_path!());
/// What the lab as shipped fails with, from its registry entry.
const SYMPTOM: &str = crate::registry::symptom(DAY);
/// The question a red self-check asks: where to look, never the fix.
const FIRST_HINT: &str = crate::registry::first_hint(DAY);

/// Where the two runs write: the pool partitioned by customer, and the
/// pool with one shared queue.
pub const PARTITIONED: &str = "partitioned";
pub const SHARED: &str = "shared";

/// The partitioned run repeats the day's orders until its profile holds 200
/// samples (`labkit::capture::until_sampled`), on any machine; the floor
/// leaves room below that. The per-thread section does not depend on
/// samples at all: it counts the work each worker was given.
pub const MIN_SAMPLES: i64 = 150;

/// The shares the check holds the partitioned run to. The workers' frames
/// take about 97 % of the samples here and 85 % when the work is made ten
/// times cheaper (the channel hand-offs then weigh more): the floors sit 4
/// standard errors below the lower of the two at [`MIN_SAMPLES`].
pub const EXPECTED: &[(&str, f64, f64)] = &[("worker", 70.0, 100.1), ("price_order", 60.0, 100.1)];

/// What the fix guarantees: no worker sits idle waiting for an order
/// while another still has a backlog. Measured as the share of the
/// workers' wall time they were blocked (neither running nor ready to run:
/// preemption by other programs does not count), in the same run. Routed
/// by customer, three workers wait while the producer is stuck feeding the
/// big customer's queue (about 40% of the pool's time); with one shared
/// queue, filled before the workers start, a worker never waits.
pub const SHARED_MAX_IDLE: f64 = 0.10;

/// What the day's two runs show.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The partitioned run: CPU profile and per-thread section.
    pub partitioned: Summary,
    /// The shared-queue run's idle share ([`threads::idle_share`]).
    pub shared_idle: f64,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "== one queue per worker, orders routed by customer")?;
        write!(f, "{}", self.partitioned)?;
        writeln!(f, "== one shared queue")?;
        // Which worker gets how much of a shared queue is the scheduler's
        // choice, and varies from run to run (a thread can be starved for a
        // while on a busy machine); what the fix guarantees is that no
        // worker waits for work while another has a backlog.
        let met = crate::verdict::met(self.shared_idle < SHARED_MAX_IDLE);
        writeln!(
            f,
            "workers waiting for an order: under {:.0}% of their time ({met})",
            SHARED_MAX_IDLE * 100.0
        )
    }
}

fn fail(symptom: String, hint: &'static str) -> Failure {
    Failure {
        day: DAY,
        symptom,
        hint,
    }
}

fn load_threads(dir: &Path) -> Result<Vec<threads::Entry>, Failure> {
    threads::load(dir).map_err(|e| {
        fail(
            format!("no per-thread CPU times: {e}"),
            "run the program again and read what it printed when it stopped",
        )
    })
}

/// Reads both runs' profiles and thread times from `dir` and checks them.
pub fn check(dir: &Path) -> Result<Outcome, Failure> {
    let part_dir = dir.join(PARTITIONED);
    let mut partitioned =
        crate::verdict::load_cpu_summary(DAY, &part_dir.join(PPROF_FILE), MIN_SAMPLES)?;
    let threads = ThreadSection::new(&load_threads(&part_dir)?);
    if threads.has_unnamed() {
        return Err(fail(
            format!(
                "{SYMPTOM}: the per-thread view lumps them into one line, so it cannot show \
                 which worker does the most"
            ),
            FIRST_HINT,
        ));
    }
    if threads.rows.first().is_none_or(|(_, ratio)| *ratio < 3.0) {
        return Err(fail(
            "the workers are named, but none stands out: the partitioned run should show one \
             worker at 3× the median or more"
                .into(),
            "keep the orders routed by customer in the partitioned run",
        ));
    }
    partitioned.threads = Some(threads);
    if partitioned.samples < MIN_SAMPLES {
        return Err(crate::verdict::too_few_samples(
            DAY,
            partitioned.samples,
            MIN_SAMPLES,
        ));
    }
    crate::verdict::expect_shares(
        DAY,
        &mut partitioned,
        EXPECTED,
        "keep each order's pricing inside the worker, and their #[inline(never)]",
    )?;
    let shared = load_threads(&dir.join(SHARED))?;
    if ThreadSection::new(&shared).has_unnamed() {
        return Err(fail(
            "the shared-queue run's workers are unnamed: its per-thread view lumps them into \
             one line"
                .into(),
            "name every thread you spawn, in both runs",
        ));
    }
    let shared_idle = threads::idle_share(&shared);
    if shared_idle >= SHARED_MAX_IDLE {
        return Err(fail(
            format!(
                "with the shared queue the workers still waited for orders {:.0}% of their time \
                 (want under {:.0}%): some sat idle while another had a backlog",
                shared_idle * 100.0,
                SHARED_MAX_IDLE * 100.0
            ),
            "every worker must take from the same queue",
        ));
    }
    Ok(Outcome {
        partitioned,
        shared_idle,
    })
}

/// Checks what a run wrote into `dir` and prints the closing lines.
pub fn report(dir: &Path) {
    let files = [
        dir.join(PARTITIONED).join(PPROF_FILE),
        dir.join(PARTITIONED).join(labkit::capture::FLAME_FILE),
        dir.join(PARTITIONED).join(threads::THREADS_FILE),
        dir.join(SHARED).join(threads::THREADS_FILE),
    ];
    crate::verdict::report(&files, &check(dir));
}
