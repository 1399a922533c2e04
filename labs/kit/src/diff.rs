//! Comparing profiles: which functions' share of the samples changed by
//! more than sampling alone would explain, and a differential flame graph.
//!
//! Two runs are never the same length: the after run served more requests,
//! or ran on a busier machine. Raw sample counts then say that everything
//! changed. So each side is **normalised** first: a function's weight is its
//! *share* of that side's samples (the stacks that hold it, `cum` in `go
//! tool pprof`), which is what `go tool pprof -diff_base B -normalize A`
//! compares too. Each side may be several runs of the same program; their
//! samples are pooled.
//!
//! A share measured from `n` samples is uncertain. For a function with
//! share `p` on both sides (no change), the difference of the two measured
//! shares has a standard error of `√(p(1−p)(1/n₁ + 1/n₂))`; a change is
//! reported only beyond [`Z`] standard errors. A profile holds dozens of
//! functions and each is a separate test, so the bar is higher than the
//! usual 1.96: at 4 standard errors a function that did not change is
//! reported about once in 16 000 comparisons.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use inferno::differential;
use inferno::flamegraph::{self, Options};

use crate::own::Own;
use crate::profile::Profile;
use crate::{Error, atomic, flame};

/// Standard errors a change must exceed to be reported.
pub const Z: f64 = 4.0;

/// Bands of a change in percentage points, and how each is written.
const BANDS: &[(f64, &str)] = &[
    (50.0, "≥ 50 points"),
    (30.0, "30–50 points"),
    (10.0, "10–30 points"),
    (3.0, "3–10 points"),
    (0.0, "under 3 points"),
];

/// The band of a change of `points` (either sign).
pub fn band(points: f64) -> &'static str {
    let size = points.abs();
    BANDS
        .iter()
        .find(|(edge, _)| size >= *edge)
        .map_or("under 3 points", |(_, label)| *label)
}

/// One side of a comparison: one or more runs, pooled.
#[derive(Debug, Clone, Default)]
pub struct Side {
    pub runs: usize,
    pub samples: i64,
    /// Samples whose stack holds each function.
    holding: BTreeMap<String, i64>,
    /// Nanoseconds (CPU time, or waiting) on stacks that hold each
    /// function, when the profiles carry a `…/nanoseconds` value.
    nanos: BTreeMap<String, i64>,
    /// The runs' durations added up; 0 when a file does not say.
    pub duration_ns: i64,
    /// Whether every run carried nanoseconds and a duration.
    timed: bool,
}

impl Side {
    /// Pools the samples of `runs` (sample value 0: samples for a CPU
    /// profile, contentions for a block or mutex profile).
    pub fn new(runs: &[Profile]) -> Side {
        let mut side = Side {
            runs: runs.len(),
            timed: !runs.is_empty(),
            ..Side::default()
        };
        for profile in runs {
            let ns = profile
                .sample_types
                .iter()
                .position(|(_, unit)| unit == "nanoseconds");
            side.timed &= ns.is_some() && profile.duration_ns > 0;
            side.duration_ns = side.duration_ns.saturating_add(profile.duration_ns);
            for s in &profile.samples {
                let n = s.values.first().copied().unwrap_or(0);
                let t = ns.and_then(|i| s.values.get(i)).copied().unwrap_or(0);
                side.samples += n;
                let names: BTreeSet<String> = s
                    .stack
                    .iter()
                    .filter_map(|f| key(&profile.own, f))
                    .collect();
                for name in names {
                    *side.holding.entry(name.clone()).or_default() += n;
                    *side.nanos.entry(name).or_default() += t;
                }
            }
        }
        side
    }

    /// Milliseconds on stacks that hold `name` per second of run (CPU
    /// time, or waiting), if the runs carry them.
    pub fn ms_per_second(&self, name: &str) -> Option<f64> {
        if !self.timed {
            return None;
        }
        let ns = self.nanos.get(name).copied().unwrap_or(0);
        Some(1000.0 * ns as f64 / self.duration_ns as f64)
    }

    /// The share of samples whose stack holds `name`, in percent.
    pub fn percent(&self, name: &str) -> f64 {
        let n = self.holding.get(name).copied().unwrap_or(0);
        100.0 * n as f64 / self.samples.max(1) as f64
    }
}

/// How a function is named in a comparison: the program's own functions
/// without their crate (so a lab and its solution, two crates, compare),
/// any other function in full. Closures are left out: their cost is their
/// caller's.
fn key(own: &Own, frame: &str) -> Option<String> {
    if frame.contains("{{closure}}") || frame.contains("{closure#") {
        return None;
    }
    Some(own.name(frame).unwrap_or_else(|| frame.to_string()))
}

/// A function whose share changed beyond the margin.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub name: String,
    /// Shares before and after, in percent.
    pub before: f64,
    pub after: f64,
    /// The margin the change beat, in points.
    pub margin: f64,
}

impl Change {
    /// After minus before, in percentage points.
    pub fn points(&self) -> f64 {
        self.after - self.before
    }
}

/// The comparison of two sides.
#[derive(Debug, Clone)]
pub struct Diff {
    pub before: Side,
    pub after: Side,
    /// Changes beyond the margin, largest first.
    pub changes: Vec<Change>,
}

impl Diff {
    /// The functions whose share grew beyond the margin, largest first.
    pub fn grew(&self) -> Vec<&str> {
        self.named(|c| c.points() > 0.0)
    }

    /// The functions whose share shrank beyond the margin, largest first.
    pub fn shrank(&self) -> Vec<&str> {
        self.named(|c| c.points() < 0.0)
    }

    fn named(&self, keep: impl Fn(&Change) -> bool) -> Vec<&str> {
        self.changes
            .iter()
            .filter(|c| keep(c))
            .map(|c| c.name.as_str())
            .collect()
    }

    /// The table with the numbers: shares, change and margin, for a
    /// reader at a terminal (the banded `Display` is what stays the same
    /// from run to run).
    pub fn numbers(&self) -> String {
        let mut out = format!(
            "before: {} run(s), {} samples; after: {} run(s), {} samples\n",
            self.before.runs, self.before.samples, self.after.runs, self.after.samples
        );
        for c in &self.changes {
            // A share can grow while the time itself shrinks (everything
            // else shrank more): say both.
            let absolute = match (
                self.before.ms_per_second(&c.name),
                self.after.ms_per_second(&c.name),
            ) {
                (Some(b), Some(a)) => format!("  ({b:.1} → {a:.1} ms per second of run)"),
                _ => String::new(),
            };
            out.push_str(&format!(
                "  {:>5.1}% → {:>5.1}%  {:>+6.1} ± {:>4.1} points  {}{absolute}\n",
                c.before,
                c.after,
                c.points(),
                c.margin,
                c.name
            ));
        }
        out
    }
}

/// What a profile counts, by its sample types: `samples/count,
/// cpu/nanoseconds` for a CPU profile, `contentions/count, delay/nanoseconds`
/// for a block or mutex one.
fn kind(profile: &Profile) -> String {
    profile
        .sample_types
        .iter()
        .map(|(ty, unit)| format!("{ty}/{unit}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Refuses to compare profiles of different kinds: 2 CPU samples against
/// 798 contentions is no change of anything. `before_name` and
/// `after_name` name the two sides in the message.
pub fn same_kind(
    before: &[Profile],
    after: &[Profile],
    before_name: &str,
    after_name: &str,
) -> Result<(), String> {
    let mut sides = before
        .iter()
        .map(|p| (before_name, p))
        .chain(after.iter().map(|p| (after_name, p)));
    let Some((first_name, first)) = sides.next() else {
        return Ok(());
    };
    let expected = kind(first);
    for (name, profile) in sides {
        let found = kind(profile);
        if found != expected {
            return Err(format!(
                "{first_name} holds a profile of {expected}, {name} one of {found}: a comparison \
                 needs profiles of one kind (two CPU profiles, two block profiles…)"
            ));
        }
    }
    Ok(())
}

/// Compares the pooled runs of `before` with those of `after`, by share.
pub fn diff(before: &[Profile], after: &[Profile]) -> Diff {
    let (b, a) = (Side::new(before), Side::new(after));
    let names: BTreeSet<&String> = b.holding.keys().chain(a.holding.keys()).collect();
    let (n1, n2) = (b.samples.max(1) as f64, a.samples.max(1) as f64);
    let mut changes: Vec<Change> = names
        .into_iter()
        .filter_map(|name| {
            let (before, after) = (b.percent(name), a.percent(name));
            // ANCHOR: margin
            // Under "no change" both sides share one true share: estimate
            // it from both sides pooled.
            let k = b.holding.get(name).copied().unwrap_or(0)
                + a.holding.get(name).copied().unwrap_or(0);
            let p = k as f64 / (n1 + n2);
            let margin = 100.0 * Z * (p * (1.0 - p) * (1.0 / n1 + 1.0 / n2)).sqrt();
            // ANCHOR_END: margin
            let change = Change {
                name: name.clone(),
                before,
                after,
                margin,
            };
            (change.points().abs() > margin).then_some(change)
        })
        .collect();
    changes.sort_by(|x, y| {
        y.points()
            .abs()
            .total_cmp(&x.points().abs())
            .then_with(|| x.name.cmp(&y.name))
    });
    Diff {
        before: b,
        after: a,
        changes,
    }
}

impl fmt::Display for Diff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "compared by share of each side's samples; a change must beat {Z} standard errors"
        )?;
        if self.changes.is_empty() {
            return writeln!(f, "no function's share changed beyond the samples' margin");
        }
        // Ranked by band, then name, so the order does not move with the
        // noise inside a band.
        let mut ranked: Vec<&Change> = self.changes.iter().collect();
        let rank = |c: &Change| BANDS.iter().position(|(_, l)| *l == band(c.points()));
        ranked.sort_by(|x, y| {
            rank(x)
                .cmp(&rank(y))
                .then_with(|| (x.points() < 0.0).cmp(&(y.points() < 0.0)))
                .then_with(|| x.name.cmp(&y.name))
        });
        writeln!(f, "changed beyond the samples' margin:")?;
        for c in ranked {
            let way = if c.points() > 0.0 { "grew  " } else { "shrank" };
            writeln!(f, "  {way} {:<15} {}", band(c.points()), c.name)?;
        }
        Ok(())
    }
}

/// Draws a differential flame graph at `path`, atomically: the after side's
/// stacks, each box coloured by how its share changed, red for grew and
/// blue for shrank. The before side is scaled to the after side's total
/// first (inferno's `normalize`), so a longer after run does not paint
/// everything red.
pub fn save_flame_graph(
    before: &[Profile],
    after: &[Profile],
    title: &str,
    path: &Path,
) -> Result<(), Error> {
    let lines = |runs: &[Profile]| -> String {
        runs.iter()
            .flat_map(|p| flame::folded(p, 0))
            .map(|l| l + "\n")
            .collect()
    };
    let (before, after) = (lines(before), lines(after));
    let mut folded = Vec::new();
    let options = differential::Options {
        normalize: true,
        ..Default::default()
    };
    differential::from_readers(options, before.as_bytes(), after.as_bytes(), &mut folded).map_err(
        |e| {
            Error::new(format!(
                "cannot compare the stacks for {}: {e}",
                path.display()
            ))
        },
    )?;
    let folded = String::from_utf8_lossy(&folded).into_owned();
    let mut options = Options::default();
    options.title = title.to_string();
    options.subtitle =
        Some("red: share grew, blue: share shrank (before scaled to after's total)".into());
    options.deterministic = true;
    let mut svg = Vec::new();
    flamegraph::from_lines(&mut options, folded.lines(), &mut svg)
        .map_err(|e| Error::new(format!("cannot draw {}: {e}", path.display())))?;
    atomic::write_bytes(path, &svg)
}

/// Loads the profiles a command-line argument names: one pprof file, or
/// every `.pb.gz` and `.pb` file in a directory (each one run), sorted by
/// name.
pub fn load_runs(path: &Path) -> Result<Vec<Profile>, String> {
    let files: Vec<std::path::PathBuf> = if path.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| format!("{} cannot be read: {e}", path.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let name = p.to_string_lossy();
                name.ends_with(".pb.gz") || name.ends_with(".pb")
            })
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(format!(
                "{} holds no profile (expected files ending in .pb.gz or .pb)",
                path.display()
            ));
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    files
        .iter()
        .map(|f| crate::profile::load(f).map_err(|e| e.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Sample;

    /// A profile with `n` samples on each of the given stacks.
    fn profile(stacks: &[(&[&str], i64)]) -> Profile {
        Profile {
            sample_types: vec![("samples".into(), "count".into())],
            samples: stacks
                .iter()
                .map(|(stack, n)| Sample {
                    stack: stack.iter().map(|s| s.to_string()).collect(),
                    values: vec![*n],
                    thread: None,
                    labels: Vec::new(),
                })
                .collect(),
            own: Own::crates(["lab_1"]),
            duration_ns: 0,
            default_sample_type: None,
        }
    }

    fn run(parse: i64, validate: i64, render: i64) -> Profile {
        profile(&[
            (&["lab_1::main", "lab_1::parse"], parse),
            (&["lab_1::main", "lab_1::validate"], validate),
            (&["lab_1::main", "lab_1::render"], render),
        ])
    }

    #[test]
    fn a_share_that_grew_while_its_time_shrank_says_both() {
        // Day 086's case: after the fix `audit` holds a larger share of a
        // much smaller total; per second of run it shrank.
        let timed = |audit: i64, rest: i64, ms_each: i64| {
            let mut p = profile(&[
                (&["lab_1::main", "lab_1::audit"], audit),
                (&["lab_1::main", "lab_1::work"], rest),
            ]);
            p.sample_types.push(("delay".into(), "nanoseconds".into()));
            for s in &mut p.samples {
                let n = s.values[0];
                s.values.push(n * ms_each * 1_000_000);
            }
            p.duration_ns = 1_000_000_000;
            p
        };
        let before = timed(200, 800, 10);
        let after = timed(600, 400, 1);
        let d = diff(std::slice::from_ref(&before), std::slice::from_ref(&after));
        assert_eq!(d.grew(), ["audit"]);
        let numbers = d.numbers();
        assert!(
            numbers.contains("audit  (2000.0 → 600.0 ms per second of run)"),
            "{numbers}"
        );
        // Without durations, shares alone.
        let untimed = diff(
            &[profile(&[(&["lab_1::a"], 5)])],
            &[profile(&[(&["lab_1::b"], 5)])],
        );
        assert!(
            !untimed.numbers().contains("per second"),
            "{}",
            untimed.numbers()
        );
    }

    #[test]
    fn profiles_of_different_kinds_are_refused_by_name() {
        let cpu = profile(&[(&["lab_1::main"], 2)]);
        let mut block = profile(&[(&["lab_1::main"], 798)]);
        block.sample_types = vec![
            ("contentions".into(), "count".into()),
            ("delay".into(), "nanoseconds".into()),
        ];
        let err = same_kind(
            std::slice::from_ref(&cpu),
            &[block],
            "cpu.pb.gz",
            "block.pb.gz",
        )
        .unwrap_err();
        assert!(
            err.starts_with(
                "cpu.pb.gz holds a profile of samples/count, block.pb.gz one of \
                             contentions/count, delay/nanoseconds"
            ),
            "{err}"
        );
        assert!(
            same_kind(
                std::slice::from_ref(&cpu),
                std::slice::from_ref(&cpu),
                "a",
                "b"
            )
            .is_ok()
        );
    }

    #[test]
    fn a_longer_run_alone_changes_nothing() {
        // Twice the samples, the same split: raw counts all doubled.
        let d = diff(&[run(400, 100, 500)], &[run(800, 200, 1000)]);
        assert!(d.changes.is_empty(), "{:?}", d.changes);
        assert!(d.to_string().contains("no function's share changed"));
    }

    #[test]
    fn a_moved_cost_is_found_whatever_the_lengths() {
        let d = diff(
            &[run(400, 100, 500)],
            &[run(800, 1000, 200), run(800, 1000, 200)],
        );
        assert_eq!(d.grew(), ["validate"]);
        assert_eq!(d.shrank(), ["render"]);
        let text = d.to_string();
        assert!(text.contains("grew   30–50 points    validate"), "{text}");
        assert!(text.contains("shrank 30–50 points    render"), "{text}");
        assert!(!text.contains("parse") && !text.contains("main"), "{text}");
    }

    #[test]
    fn a_change_within_the_margin_is_not_reported() {
        // 55% → 45% of 100 samples each: within 4 standard errors (28
        // points); of 10 000 each, far beyond.
        let small = diff(&[run(55, 0, 45)], &[run(45, 0, 55)]);
        assert!(small.changes.is_empty(), "{:?}", small.changes);
        let large = diff(&[run(5500, 0, 4500)], &[run(4500, 0, 5500)]);
        assert_eq!(large.grew(), ["render"]);
        assert_eq!(band(large.changes[0].points()), "10–30 points");
    }

    #[test]
    fn runs_are_pooled_and_closures_left_out() {
        let a = profile(&[(&["lab_1::main", "lab_1::f::{{closure}}"], 10)]);
        let side = Side::new(&[a.clone(), a]);
        assert_eq!((side.runs, side.samples), (2, 20));
        assert_eq!(side.percent("main"), 100.0);
        assert_eq!(side.percent("f::{{closure}}"), 0.0);
    }

    #[test]
    fn bad_paths_are_named() {
        let err = load_runs(Path::new("no/such.pb.gz")).unwrap_err();
        assert!(err.contains("no/such.pb.gz does not exist"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let err = load_runs(dir.path()).unwrap_err();
        assert!(err.contains("holds no profile"), "{err}");
    }
}
