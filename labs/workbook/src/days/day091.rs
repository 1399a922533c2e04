//! Day 091, benchmarks that profile: a criterion benchmark, measured and
//! then profiled by pprof-rs under `--profile-time`, must time and profile
//! the function under test, not an empty loop.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use labkit::summary::margin_points;

use crate::verdict::Failure;

pub const DAY: &str = crate::registry::module_day(module_path!());
/// What the lab as shipped fails with, from its registry entry.
const SYMPTOM: &str = crate::registry::symptom(DAY);
/// The question a red self-check asks: where to look, never the fix.
const FIRST_HINT: &str = crate::registry::first_hint(DAY);

/// The benchmark's name: criterion's directory for it is named after it.
pub const BENCHMARK: &str = "checksum";
/// The function under test, as the profile names it (without its crate).
pub const FUNCTION: &str = "checksum";
/// Where criterion writes, under the run's output directory.
pub const CRITERION_DIR: &str = "criterion";
/// The yardstick: nanoseconds per call of the function timed by hand,
/// just before and just after criterion measured it.
pub const REFERENCE_FILE: &str = "reference.txt";

/// Short settings, so the whole run takes a few seconds: criterion's
/// defaults (3 s of warm-up, 5 s of measurement, 100 samples, 100 000
/// bootstrap resamples) suit a real benchmark, not a self-check.
pub const WARM_UP: Duration = Duration::from_millis(500);
pub const MEASUREMENT: Duration = Duration::from_secs(1);
pub const SAMPLES: usize = 10;
pub const RESAMPLES: usize = 10_000;
/// How long criterion iterates under the profiler, after its own fixed
/// second of warm-up (criterion 0.5, `Routine::profile`).
pub const PROFILE_TIME: Duration = Duration::from_secs(3);
/// How long the yardstick times the function by hand, each time.
const REFERENCE_TIME: Duration = Duration::from_millis(250);

/// The input: 16 KiB, about 20 µs of FNV-1a on the machine this was
/// measured on.
pub const INPUT_BYTES: usize = 16 * 1024;

/// A floor on the profile's samples. Criterion's profile time is wall
/// time, so a busy machine gives fewer samples: 3 s gave 500 to 600 on a quiet
/// machine and as few as 33 per 2 s with four busy loops and other
/// builds sharing the two cores, and a kernel ticking at 100 Hz gives 2.5
/// times fewer again. The function under test holds all but a few of them
/// in a correct benchmark and none in a deleted one, so even 10 samples
/// tell the two apart: a benchmark whose function truly holds 90 % of the
/// samples shows it in under half of 10 about once in 7 000 runs (at 95 %,
/// once in 360 000).
pub const MIN_SAMPLES: i64 = 10;
/// The function under test must be the innermost own frame of at least
/// this share of the samples for the benchmark to be measuring it.
pub const MIN_LEAF_PERCENT: f64 = 50.0;
/// Criterion's time per iteration may differ from the same function timed
/// by hand in the same run by at most this factor, either way. Both are
/// wall times of the same CPU-bound call, so a busy machine stretches both;
/// but not always alike, since they run one after the other and the load
/// may change in between: with four busy loops and other builds sharing
/// the two cores, the ratio ranged from 0.35 to 1.2. A deleted benchmark
/// comes out hundreds of thousands of times faster.
pub const PLAUSIBLE_FACTOR: f64 = 5.0;

/// The benchmark's input: deterministic bytes that no optimiser can
/// predict (a xorshift stream).
pub fn input() -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    (0..INPUT_BYTES)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 56) as u8
        })
        .collect()
}

/// Times `f` by hand for a fixed stretch and returns the mean nanoseconds
/// per call. Each result goes through `black_box`, so the calls cannot be
/// deleted.
pub fn time_by_hand<T>(mut f: impl FnMut() -> T) -> f64 {
    let started = Instant::now();
    let mut calls = 0u64;
    while started.elapsed() < REFERENCE_TIME {
        for _ in 0..16 {
            std::hint::black_box(f());
        }
        calls += 16;
    }
    started.elapsed().as_nanos() as f64 / calls as f64
}

/// Criterion's directory under `out_dir`, emptied: every run measures
/// afresh. Criterion compares each run with the one before it, and after a
/// fix that one measured a benchmark whose work was deleted: "+35 054 493 %,
/// performance has regressed" is noise, not news.
pub fn fresh_criterion_dir(out_dir: &Path) -> Result<std::path::PathBuf, labkit::Error> {
    let dir = out_dir.join(CRITERION_DIR);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(dir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(dir),
        Err(e) => Err(labkit::Error::io(
            format!("cannot empty {} before measuring", dir.display()),
            e,
        )),
    }
}

/// Writes the yardstick to `dir/reference.txt`, atomically: the timings by
/// hand just before and just after criterion measured, one a line. The
/// check compares criterion with their mean, which follows the machine's
/// load across the measurement better than either alone.
pub fn save_reference(dir: &Path, before_ns: f64, after_ns: f64) -> Result<(), labkit::Error> {
    labkit::atomic::write_bytes(
        &dir.join(REFERENCE_FILE),
        format!("{before_ns:.1}\n{after_ns:.1}\n").as_bytes(),
    )
}

/// The CPU profile pprof-rs's criterion profiler wrote (raw protobuf).
pub fn profile_path(dir: &Path) -> PathBuf {
    dir.join(CRITERION_DIR)
        .join(BENCHMARK)
        .join("profile")
        .join("profile.pb")
}

/// The flame graph of that profile, drawn by [`save_flame_graph`].
pub const FLAME_FILE: &str = "cpu.svg";

/// Draws the profile pprof-rs wrote as `dir/cpu.svg`, atomically, without
/// the profiler's own frames, which pprof-rs's criterion profiler keeps at
/// the tip of every stack.
pub fn save_flame_graph(dir: &Path) -> Result<(), labkit::Error> {
    let path = profile_path(dir);
    let profile = labkit::profile::load(&path).map_err(|e| labkit::Error::new(e.to_string()))?;
    labkit::flame::save(
        &profile,
        0,
        &format!("criterion --profile-time: {BENCHMARK} (cpu, samples)"),
        &dir.join(FLAME_FILE),
    )
}

/// Criterion's estimates of the measured run.
pub fn estimates_path(dir: &Path) -> PathBuf {
    dir.join(CRITERION_DIR)
        .join(BENCHMARK)
        .join("new")
        .join("estimates.json")
}

/// What a run measured and profiled.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub samples: i64,
    /// Own functions by share of the samples whose innermost own frame
    /// they are, ranked; `(other)` for samples with no own frame. The
    /// leaf itself is often a standard-library helper the optimiser
    /// inlined (`<u64>::wrapping_mul`), so the innermost *own* frame is
    /// what says whose work a sample was.
    pub leaves: Vec<(String, f64)>,
    /// Criterion's time per iteration (its slope, or mean), ns.
    pub criterion_ns: f64,
    /// The same function timed by hand, ns per call.
    pub reference_ns: f64,
}

impl Outcome {
    /// The share of samples whose innermost own frame is `name`, in
    /// percent.
    pub fn leaf_percent(&self, name: &str) -> f64 {
        self.leaves
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0.0, |(_, p)| *p)
    }

    /// Criterion's time per iteration against the yardstick.
    pub fn ratio(&self) -> f64 {
        self.criterion_ns / self.reference_ns.max(1e-3)
    }

    /// Whether the ratio is within [`PLAUSIBLE_FACTOR`] of 1, either way.
    pub fn plausible(&self) -> bool {
        (1.0 / PLAUSIBLE_FACTOR..PLAUSIBLE_FACTOR).contains(&self.ratio())
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "criterion benchmark {BENCHMARK}, profiled by pprof-rs under --profile-time"
        )?;
        writeln!(
            f,
            "cpu profile: ≥ {MIN_SAMPLES} samples (a share is within ± {:.0} points, 95% of the \
             time)",
            margin_points(MIN_SAMPLES)
        )?;
        writeln!(
            f,
            "innermost own frame of each sample, by share of samples:"
        )?;
        // The range the check held it to, not a band of this run's share:
        // with a few dozen samples on a busy machine, a share near 90 %
        // would print `≥ 90%` on one run and `70–90%` on the next.
        let label = format!("≥ {MIN_LEAF_PERCENT:.0}%");
        writeln!(f, "  {label:<8} {FUNCTION}")?;
        writeln!(
            f,
            "time per iteration: within a factor of {PLAUSIBLE_FACTOR} of {FUNCTION} timed by \
             hand in the same run ({})",
            crate::verdict::met(self.plausible())
        )
    }
}

const OTHER: &str = "(other)";

/// Own functions by share of innermost own frames, ranked by share.
fn leaf_shares(profile: &labkit::profile::Profile) -> (i64, Vec<(String, f64)>) {
    let total = profile.total(0);
    let mut counts: Vec<(String, i64)> = Vec::new();
    for s in &profile.samples {
        let name = s
            .stack
            .iter()
            .rev()
            .find_map(|frame| profile.own.name(frame))
            .unwrap_or_else(|| OTHER.to_string());
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, c)) => *c += s.values[0],
            None => counts.push((name, s.values[0])),
        }
    }
    let mut shares: Vec<(String, f64)> = counts
        .into_iter()
        .map(|(n, c)| (n, 100.0 * c as f64 / total.max(1) as f64))
        .collect();
    shares.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    (total, shares)
}

/// Criterion's headline number: the slope of its linear regression when
/// it fitted one, else the mean, in ns.
fn criterion_ns(path: &Path) -> Result<f64, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "criterion's estimates {} cannot be read ({e}): did the measured benchmark run?",
            path.display()
        )
    })?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not criterion's estimates: {e}", path.display()))?;
    ["slope", "mean"]
        .iter()
        .find_map(|k| json[k]["point_estimate"].as_f64())
        .ok_or_else(|| format!("{} holds no slope or mean estimate", path.display()))
}

fn reference_ns(path: &Path) -> Result<f64, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let times: Vec<f64> = text
        .lines()
        .map(|l| l.trim().parse::<f64>().ok().filter(|ns| *ns > 0.0))
        .collect::<Option<_>>()
        .filter(|t: &Vec<f64>| !t.is_empty())
        .ok_or_else(|| {
            format!(
                "{} holds something other than positive numbers of nanoseconds, one a line",
                path.display()
            )
        })?;
    Ok(times.iter().sum::<f64>() / times.len() as f64)
}

/// A duration in ns, written the way criterion writes it.
pub fn human_ns(ns: f64) -> String {
    match ns {
        n if n < 1e3 => format!("{n:.2} ns"),
        n if n < 1e6 => format!("{:.2} µs", n / 1e3),
        n => format!("{:.2} ms", n / 1e6),
    }
}

/// Reads what criterion, pprof-rs and the yardstick wrote into `dir`.
pub fn check(dir: &Path) -> Result<Outcome, Failure> {
    let fail = |symptom: String, hint: &'static str| Failure {
        day: DAY,
        symptom,
        hint,
    };
    let rerun = "run the program again and read what it printed when it stopped";
    let profile = labkit::profile::load(&profile_path(dir))
        .map_err(|e| fail(format!("cpu profile cannot be read: {e}"), rerun))?;
    let criterion_ns = criterion_ns(&estimates_path(dir)).map_err(|e| fail(e, rerun))?;
    let reference_ns = reference_ns(&dir.join(REFERENCE_FILE)).map_err(|e| fail(e, rerun))?;
    let (samples, leaves) = leaf_shares(&profile);
    let outcome = Outcome {
        samples,
        leaves,
        criterion_ns,
        reference_ns,
    };
    let in_function = outcome.leaf_percent(FUNCTION);
    // The timing is the robust signature: a deleted benchmark is thousands
    // of times faster than the function it was meant to time, on any
    // machine, busy or not. The profile says the same in other words.
    if outcome.ratio() < 1.0 / PLAUSIBLE_FACTOR && in_function < MIN_LEAF_PERCENT {
        return Err(fail(
            format!(
                "criterion timed {} per iteration, 1/{:.0} of {FUNCTION} timed by hand ({}), and \
                 {in_function:.0}% of the profile's samples end in {FUNCTION}: {SYMPTOM}",
                human_ns(criterion_ns),
                reference_ns / criterion_ns.max(1e-3),
                human_ns(reference_ns),
            ),
            FIRST_HINT,
        ));
    }
    if samples < MIN_SAMPLES {
        return Err(fail(
            format!("cpu profile has {samples} samples (want at least {MIN_SAMPLES})"),
            "keep the profile time: criterion iterates that long under the profiler",
        ));
    }
    if in_function < MIN_LEAF_PERCENT {
        return Err(fail(
            format!(
                "{in_function:.0}% of the profile's samples end in {FUNCTION}: the profile shows \
                 the benchmark's loop, not the function under test"
            ),
            "time only the call under test, and keep its result",
        ));
    }
    if !outcome.plausible() {
        return Err(fail(
            format!(
                "criterion timed {} per iteration, {:.2}× {FUNCTION} timed by hand ({}): the \
                 benchmark times something besides {FUNCTION}",
                human_ns(criterion_ns),
                outcome.ratio(),
                human_ns(reference_ns),
            ),
            "time only the call under test: prepare inputs outside b.iter (or use \
             iter_batched), and keep its result",
        ));
    }
    Ok(outcome)
}

/// Checks what a run wrote into `dir` and prints the closing lines.
pub fn report(dir: &Path) {
    let files = [
        estimates_path(dir),
        profile_path(dir),
        dir.join(FLAME_FILE),
        dir.join(REFERENCE_FILE),
    ];
    crate::verdict::report(&files, &check(dir));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_run_measures_afresh() {
        let out = std::env::temp_dir().join(format!("day091-fresh-{}", std::process::id()));
        let old = out.join(CRITERION_DIR).join("checksum").join("base");
        std::fs::create_dir_all(&old).unwrap();
        std::fs::write(old.join("estimates.json"), "{}").unwrap();
        let dir = fresh_criterion_dir(&out).unwrap();
        assert_eq!(dir, out.join(CRITERION_DIR));
        assert!(!dir.exists(), "the last run's estimates are gone");
        // A first run has nothing to remove.
        assert_eq!(fresh_criterion_dir(&out).unwrap(), dir);
        std::fs::remove_dir_all(&out).unwrap();
    }
}
