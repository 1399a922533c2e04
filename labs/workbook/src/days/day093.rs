//! Day 093, compare before and after: two versions of a request handler
//! are profiled, and the program says which functions got slower and which
//! faster. Its verdict must match what the profiles show once each side is
//! normalised (shares of its own samples) and repeated.

use std::fmt;
use std::path::{Path, PathBuf};

use labkit::diff::{self, Diff};
use labkit::profile::{Profile, Recorded};

use crate::verdict::Failure;

pub const DAY: &str = crate::registry::module_day(module_path!());
/// What the lab as shipped fails with, from its registry entry.
const SYMPTOM: &str = crate::registry::symptom(DAY);
/// The question a red self-check asks: where to look, never the fix.
const FIRST_HINT: &str = crate::registry::first_hint(DAY);

/// CPU per request in each step of the handler, in `labkit::work` units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Costs {
    pub parse: u64,
    pub validate: u64,
    pub render: u64,
}

// ANCHOR: versions
/// The old version, and the new one: the change moved escaping out of
/// `render` and into `validate`. Per request, `parse` costs the same,
/// `validate` five times as much, `render` a fifth; the total is the same.
pub const BEFORE: Costs = Costs {
    parse: 4,
    validate: 1,
    render: 5,
};
pub const AFTER: Costs = Costs {
    parse: 4,
    validate: 5,
    render: 1,
};
// ANCHOR_END: versions

/// Samples one run of the old version collects: it serves requests until
/// its profile holds this many (`labkit::capture::until_sampled`), so
/// every machine and kernel tick gets the same evidence. The new version's
/// runs collect twice as many, serving twice the requests: they were taken
/// on a busier day. Three runs pooled give 360 samples before and 720
/// after; a 40-point change is then 4 standard errors from the edges of
/// its band.
pub const SAMPLES: u64 = 120;

/// The handler's steps, as the profile names them.
pub const FUNCTIONS: [&str; 3] = ["parse", "validate", "render"];

/// Runs of each version a comparison needs: the spread between runs of
/// the same code is the yardstick a change is judged against.
pub const MIN_RUNS: usize = 3;

/// Where a run writes: `before/1.pb.gz`, `after/1.pb.gz`, …; the
/// program's verdict; the differential flame graph.
pub const BEFORE_DIR: &str = "before";
pub const AFTER_DIR: &str = "after";
pub const VERDICT_FILE: &str = "verdict.txt";
pub const FLAME_FILE: &str = "diff.svg";

/// Which side of the comparison a run belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Before,
    After,
}

impl Version {
    pub fn costs(self) -> Costs {
        match self {
            Version::Before => BEFORE,
            Version::After => AFTER,
        }
    }

    fn dir(self) -> &'static str {
        match self {
            Version::Before => BEFORE_DIR,
            Version::After => AFTER_DIR,
        }
    }
}

/// What a program concluded: the steps it says got slower, and faster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    pub slower: Vec<String>,
    pub faster: Vec<String>,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |names: &[String]| {
            if names.is_empty() {
                "nothing".to_string()
            } else {
                names.join(", ")
            }
        };
        write!(
            f,
            "slower: {}; faster: {}",
            list(&self.slower),
            list(&self.faster)
        )
    }
}

/// The samples whose stack holds `name` (an own function, without its
/// crate), summed over `runs`: a raw count.
pub fn samples_in(runs: &[Profile], name: &str) -> i64 {
    runs.iter()
        .flat_map(|p| p.samples.iter().map(move |s| (&p.own, s)))
        .filter(|(own, s)| s.stack.iter().any(|f| own.name(f).as_deref() == Some(name)))
        .map(|(_, s)| s.values[0])
        .sum()
}

/// The verdict a share comparison gives: the handler's steps whose share
/// grew (slower) or shrank (faster) beyond the samples' margin.
pub fn verdict_of(diff: &Diff) -> Verdict {
    let steps = |names: Vec<&str>| {
        names
            .into_iter()
            .filter(|n| FUNCTIONS.contains(n))
            .map(String::from)
            .collect()
    };
    Verdict {
        slower: steps(diff.grew()),
        faster: steps(diff.shrank()),
    }
}

/// Saves one run's profile as `dir/before/1.pb.gz` (or `after/…`),
/// atomically. The first run of a side empties its directory, so no run
/// of an earlier invocation is pooled with this one's.
pub fn save_run(
    dir: &Path,
    version: Version,
    run: usize,
    profile: &Recorded,
) -> Result<(), labkit::Error> {
    let side = side_dir(dir, version);
    if run == 1 && side.exists() {
        std::fs::remove_dir_all(&side)
            .map_err(|e| labkit::Error::io(format!("cannot empty {}", side.display()), e))?;
    }
    std::fs::create_dir_all(&side)
        .map_err(|e| labkit::Error::io(format!("cannot create {}", side.display()), e))?;
    let path = side.join(format!("{run}.pb.gz"));
    labkit::atomic::write_with(&path, |out| profile.write_pprof(out))
}

/// Saves the program's verdict and the differential flame graph of all
/// runs (after against before).
pub fn save(
    dir: &Path,
    verdict: &Verdict,
    before: &[Profile],
    after: &[Profile],
) -> Result<(), labkit::Error> {
    let mut text = String::new();
    for name in &verdict.slower {
        text.push_str(&format!("slower {name}\n"));
    }
    for name in &verdict.faster {
        text.push_str(&format!("faster {name}\n"));
    }
    labkit::atomic::write_bytes(&dir.join(VERDICT_FILE), text.as_bytes())?;
    diff::save_flame_graph(
        before,
        after,
        "after against before (cpu, samples)",
        &dir.join(FLAME_FILE),
    )
}

fn load_verdict(path: &Path) -> Result<Verdict, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut verdict = Verdict::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match line.split_once(' ') {
            Some(("slower", name)) => verdict.slower.push(name.trim().to_string()),
            Some(("faster", name)) => verdict.faster.push(name.trim().to_string()),
            _ => {
                return Err(format!(
                    "{}: {line:?} is neither `slower NAME` nor `faster NAME`",
                    path.display()
                ));
            }
        }
    }
    verdict.slower.sort();
    verdict.faster.sort();
    Ok(verdict)
}

/// What the comparison found, and whether the program said the same.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub diff: Diff,
    /// The before runs compared among themselves: the same code, so
    /// nothing may change beyond the margin.
    pub control: Diff,
    pub verdict: Verdict,
}

impl Outcome {
    /// How many times the before side's samples the after side holds.
    pub fn length_ratio(&self) -> f64 {
        self.diff.after.samples as f64 / self.diff.before.samples.max(1) as f64
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "before: ≥ {MIN_RUNS} runs of the old version; after: ≥ {MIN_RUNS} runs of the new, \
             each serving twice the requests"
        )?;
        write!(f, "{}", self.diff)?;
        let quiet = verdict_of(&self.control) == Verdict::default();
        writeln!(
            f,
            "control, the before runs against each other: no step changed beyond the margin ({})",
            crate::verdict::met(quiet)
        )?;
        writeln!(f, "the program's verdict: {}", self.verdict)
    }
}

fn side_dir(dir: &Path, version: Version) -> PathBuf {
    dir.join(version.dir())
}

/// Reads the runs and the verdict in `dir` and checks that the verdict is
/// what the normalised, repeated comparison shows.
pub fn check(dir: &Path) -> Result<Outcome, Failure> {
    let fail = |symptom: String, hint: &'static str| Failure {
        day: DAY,
        symptom,
        hint,
    };
    let rerun = "run the program again and read what it printed when it stopped";
    let before = diff::load_runs(&side_dir(dir, Version::Before)).map_err(|e| fail(e, rerun))?;
    let after = diff::load_runs(&side_dir(dir, Version::After)).map_err(|e| fail(e, rerun))?;
    let verdict = load_verdict(&dir.join(VERDICT_FILE)).map_err(|e| fail(e, rerun))?;
    let compared = diff::diff(&before, &after);
    let mut truth = verdict_of(&compared);
    truth.slower.sort();
    truth.faster.sort();
    let control = diff::diff(&before[..1], &before[1..]);
    let outcome = Outcome {
        diff: compared,
        control,
        verdict: verdict.clone(),
    };
    if verdict != truth {
        let wrong: Vec<&String> = verdict
            .slower
            .iter()
            .filter(|n| !truth.slower.contains(n))
            .chain(verdict.faster.iter().filter(|n| !truth.faster.contains(n)))
            .collect();
        let wrong = match wrong.first() {
            Some(name) => format!(
                "it blamed {name}, whose share of the samples did not move that way beyond the \
                 margin"
            ),
            None => "it missed a change the shares show".to_string(),
        };
        return Err(fail(
            format!(
                "the program's verdict ({verdict}) is not what the profiles show ({truth}); \
                 {wrong}: {SYMPTOM} (the after side holds {:.1}× the before side's samples)",
                outcome.length_ratio()
            ),
            FIRST_HINT,
        ));
    }
    if before.len() < MIN_RUNS || after.len() < MIN_RUNS {
        return Err(fail(
            format!(
                "{} run(s) before and {} after: too few to know how much runs of the same code \
                 differ",
                before.len(),
                after.len()
            ),
            "repeat each version at least 3 times and pool the runs: the runs of one version \
             compared with each other are the control a change must beat",
        ));
    }
    if verdict_of(&outcome.control) != Verdict::default() {
        return Err(fail(
            format!(
                "the before runs differ among themselves beyond the margin ({}): the runs are \
                 not comparable",
                verdict_of(&outcome.control)
            ),
            "every run of one version must do the same work: keep the workload fixed",
        ));
    }
    Ok(outcome)
}

/// Checks what a run wrote into `dir` and prints the closing lines.
pub fn report(dir: &Path) {
    let mut files = Vec::new();
    for version in [Version::Before, Version::After] {
        let mut runs: Vec<PathBuf> = std::fs::read_dir(side_dir(dir, version))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        runs.sort();
        files.extend(runs);
    }
    files.extend([dir.join(VERDICT_FILE), dir.join(FLAME_FILE)]);
    crate::verdict::report(&files, &check(dir));
}
