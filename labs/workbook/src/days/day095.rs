//! Day 095, whose CPU is it? (labels): a report service whose two kinds of
//! request run the same functions, one ten times costlier than the other.
//! One pitfall: the `kind` label set on the thread, not on the task, so
//! after an `.await` the work runs under whichever label the last task
//! left on the thread.
//!
//! The check compares the profile's answer with the truth counted in the
//! same run: the lab counts the pages each kind rendered, exactly, and
//! every page costs the same CPU, so `render`'s samples must split by kind
//! as the pages do. A share measured from n samples is within 4 standard
//! errors (under 7 points at the 300 samples this day asks for) of the
//! truth; the check allows [`TOLERANCE_POINTS`].

use std::fmt;
use std::path::Path;

use crate::verdict::Failure;
use labkit::capture::PPROF_FILE;

pub const DAY: &str = crate::registry::module_day(module_path!());
const SYMPTOM: &str = crate::registry::symptom(DAY);
const FIRST_HINT: &str = crate::registry::first_hint(DAY);

/// The exact count of pages each kind of request rendered.
pub const PAGES_FILE: &str = "pages.txt";
/// The label key the service sets.
pub const KEY: &str = "kind";
/// The two kinds, and the pages one request of each renders.
pub const KINDS: [(&str, u64); 2] = [("export", 10), ("summary", 1)];
/// The run repeats rounds of requests until its profile holds 400
/// samples; the floor leaves room below that.
pub const MIN_SAMPLES: i64 = 300;
/// How far a kind's share of `render`'s samples may be from its share of
/// the pages, in points.
pub const TOLERANCE_POINTS: f64 = 10.0;

/// Requests and pages by kind, as the program counted them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pages {
    /// `(kind, requests, pages)`.
    pub rows: Vec<(String, u64, u64)>,
}

impl Pages {
    /// Counts one request of `kind` that rendered `pages`.
    pub fn add(&mut self, kind: &str, pages: u64) {
        match self.rows.iter_mut().find(|(k, ..)| k == kind) {
            Some(row) => {
                row.1 += 1;
                row.2 += pages;
            }
            None => self.rows.push((kind.to_string(), 1, pages)),
        }
    }

    /// Writes `pages.txt` (`kind requests pages`, a line each), atomically.
    pub fn save(&self, dir: &Path) -> Result<(), labkit::Error> {
        let text: String = self
            .rows
            .iter()
            .map(|(k, r, p)| format!("{k} {r} {p}\n"))
            .collect();
        labkit::atomic::write_bytes(&dir.join(PAGES_FILE), text.as_bytes())
    }

    /// Reads `pages.txt` back.
    pub fn load(dir: &Path) -> Result<Pages, String> {
        let path = dir.join(PAGES_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{} cannot be read: {e}", path.display()))?;
        let mut pages = Pages::default();
        for line in text.lines() {
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts[..] {
                [kind, requests, count] => match (requests.parse(), count.parse()) {
                    (Ok(r), Ok(p)) => pages.rows.push((kind.to_string(), r, p)),
                    _ => return Err(format!("{}: bad line {line:?}", path.display())),
                },
                _ => {
                    return Err(format!(
                        "{}: bad line {line:?} (expected `kind requests pages`)",
                        path.display()
                    ));
                }
            }
        }
        Ok(pages)
    }

    fn total(&self) -> u64 {
        self.rows.iter().map(|r| r.2).sum()
    }

    fn share(&self, kind: &str) -> f64 {
        let pages = self.rows.iter().find(|r| r.0 == kind).map_or(0, |r| r.2);
        100.0 * pages as f64 / self.total().max(1) as f64
    }
}

/// What the profile said, against the pages.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `render`'s samples.
    pub samples: i64,
    /// `(kind, share of the pages, share of render's samples)`, in percent.
    pub kinds: Vec<(String, f64, f64)>,
    /// The share of `render`'s samples with no `kind` label.
    pub unlabelled: f64,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "cpu profile: ≥ {MIN_SAMPLES} samples")?;
        writeln!(
            f,
            "render's samples by the `{KEY}` label, against the pages each kind rendered \
             (counted exactly):"
        )?;
        for (kind, pages, _) in &self.kinds {
            writeln!(
                f,
                "  {KEY}={kind:<8} {pages:>3.0}% of the pages; its samples within \
                 {TOLERANCE_POINTS:.0} points of that ({})",
                crate::verdict::met(true)
            )?;
        }
        writeln!(
            f,
            "  no {KEY} label: under {TOLERANCE_POINTS:.0}% of render's samples ({})",
            crate::verdict::met(true)
        )?;
        let top = self
            .kinds
            .iter()
            .max_by(|a, b| a.2.total_cmp(&b.2))
            .map_or("", |k| k.0.as_str());
        writeln!(f, "the costly kind, on top: {KEY}={top}")
    }
}

fn fail(symptom: String, hint: &'static str) -> Failure {
    Failure {
        day: DAY,
        symptom,
        hint,
    }
}

/// `render`'s samples by the value of the `kind` label (`None` for
/// samples without it).
fn render_samples(profile: &labkit::profile::Profile) -> Vec<(Option<String>, i64)> {
    let mut by_kind: Vec<(Option<String>, i64)> = Vec::new();
    for s in &profile.samples {
        if !s
            .stack
            .iter()
            .any(|f| profile.own.name(f).as_deref() == Some("render"))
        {
            continue;
        }
        let kind = s.label(KEY).map(str::to_string);
        match by_kind.iter_mut().find(|(k, _)| *k == kind) {
            Some(row) => row.1 += s.values[0],
            None => by_kind.push((kind, s.values[0])),
        }
    }
    by_kind
}

/// Reads the profile and the page counts from `dir` and checks that the
/// labels split `render`'s samples as the pages split.
pub fn check(dir: &Path) -> Result<Outcome, Failure> {
    let profile = labkit::profile::load(&dir.join(PPROF_FILE)).map_err(|e| {
        fail(
            format!("cpu profile cannot be read: {e}"),
            "run the program again and read what it printed when it stopped",
        )
    })?;
    let pages = Pages::load(dir).map_err(|e| {
        fail(
            format!("no page counts: {e}"),
            "run the program again and read what it printed when it stopped",
        )
    })?;
    let by_kind = render_samples(&profile);
    let samples: i64 = by_kind.iter().map(|r| r.1).sum();
    if samples < MIN_SAMPLES {
        return Err(crate::verdict::too_few_samples(DAY, samples, MIN_SAMPLES));
    }
    let share = |kind: Option<&str>| {
        let n = by_kind
            .iter()
            .find(|(k, _)| k.as_deref() == kind)
            .map_or(0, |r| r.1);
        100.0 * n as f64 / samples as f64
    };
    let kinds: Vec<(String, f64, f64)> = KINDS
        .iter()
        .map(|&(kind, _)| (kind.to_string(), pages.share(kind), share(Some(kind))))
        .collect();
    let unlabelled = share(None);
    let observed: Vec<String> = kinds
        .iter()
        .map(|(k, pages, samples)| format!("{KEY}={k} {samples:.0}% (pages: {pages:.0}%)"))
        .chain(std::iter::once(format!("no {KEY} label {unlabelled:.0}%")))
        .collect();
    let off = kinds
        .iter()
        .any(|(_, pages, samples)| (pages - samples).abs() > TOLERANCE_POINTS);
    if off || unlabelled > TOLERANCE_POINTS {
        return Err(fail(
            format!(
                "{SYMPTOM}: render's {samples} samples split {}, but the pages each kind \
                 rendered were counted exactly, and every page costs the same",
                observed.join(", ")
            ),
            FIRST_HINT,
        ));
    }
    Ok(Outcome {
        samples,
        kinds,
        unlabelled,
    })
}

/// Checks what a run wrote into `dir` and prints the closing lines.
pub fn report(dir: &Path) {
    let files = [dir.join(PPROF_FILE), dir.join(PAGES_FILE)];
    crate::verdict::report(&files, &check(dir));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_read_back_and_a_bad_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut pages = Pages::default();
        pages.add("export", 10);
        pages.add("summary", 1);
        pages.add("export", 10);
        pages.save(dir.path()).unwrap();
        let back = Pages::load(dir.path()).unwrap();
        assert_eq!(back, pages);
        assert!((back.share("export") - 100.0 * 20.0 / 21.0).abs() < 1e-9);
        std::fs::write(dir.path().join(PAGES_FILE), "export ten\n").unwrap();
        let err = Pages::load(dir.path()).unwrap_err();
        assert!(err.contains("bad line"), "{err}");
    }
}
