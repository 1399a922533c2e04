//! What a day's check says: on failure, a [`Failure`] (the **symptom**, in
//! words a learner can check by hand, one **hint**, and the **page** that
//! explains it, always in this order); and the closing lines a lab or
//! solution prints after a run.

use std::fmt;
use std::path::{Path, PathBuf};

use labkit::out;

/// Why a day's profile is not the expected one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub day: &'static str,
    pub symptom: String,
    pub hint: &'static str,
}

impl Failure {
    /// The book page that explains this day.
    pub fn page(&self) -> String {
        crate::Day::get(self.day).map_or_else(|| format!("book/day-{}.md", self.day), |d| d.page())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "day {} self-check: not yet", self.day)?;
        writeln!(f, "  symptom: {}", self.symptom)?;
        writeln!(f, "  hint:    {}", self.hint)?;
        writeln!(f, "  read:    {} (mdbook serve --open)", self.page())?;
        write!(
            f,
            "  stuck:   cargo workbook hint {} (one more hint each time: the concept, then the fix)",
            self.day
        )
    }
}

/// Loads a CPU profile and summarises it; a file that cannot be read is
/// the day's failure, with the loader's words as the symptom.
pub fn load_cpu_summary(
    day: &'static str,
    path: &Path,
    min_samples: i64,
) -> Result<labkit::summary::Summary, Failure> {
    let profile = labkit::profile::load(path).map_err(|e| Failure {
        day,
        symptom: format!("cpu profile cannot be read: {e}"),
        hint: "run the program again and read what it printed when it stopped",
    })?;
    Ok(labkit::summary::cpu(&profile, min_samples))
}

/// The failure for a CPU profile with some samples but fewer than the day
/// ranks with. The workloads run until their profile holds enough
/// (`labkit::capture::until_sampled`), so a short profile has one of two
/// causes, and the verdict cannot tell which from the file: the capture
/// stopped before the work did, or this machine's sampler fell short (the
/// program then said so on stderr). It names both and blames neither.
pub fn too_few_samples(day: &'static str, samples: i64, min: i64) -> Failure {
    Failure {
        day,
        symptom: format!(
            "cpu profile holds {samples} samples, fewer than the {min} this day ranks with"
        ),
        hint: "the work runs until the profile holds enough samples, unless the capture stopped \
               first: does the capture live as long as the work? If the program warned that the \
               machine's sampler fell short, the machine is the cause, not your code",
    }
}

/// Checks that each `(frame, low, high)` has a share in `low..high`
/// percent; the first that does not is the day's failure. Once all hold,
/// the summary keeps just those frames, printed with their ranges
/// ([`labkit::summary::Summary::keep_checked`]), so what a snapshot holds is
/// what the check proved.
///
/// For a sampled CPU profile, ranges are designed around the workload's
/// true share with a margin of at least 4 standard errors at the day's
/// sample floor ([`standard_error_points`]): a correct program falls
/// outside one about once in 15 000 runs. A counting profile (block or
/// mutex at rate 1) records every event, so its shares are not sampled:
/// they move only as much as the run itself does, and its ranges are set
/// around the split the pipeline's design makes (Day 085: 4 workers to 1
/// producer), wide of the spread measured across runs.
pub fn expect_shares(
    day: &'static str,
    summary: &mut labkit::summary::Summary,
    expected: &[(&str, f64, f64)],
    hint: &'static str,
) -> Result<(), Failure> {
    for &(name, low, high) in expected {
        let p = summary.percent(name);
        if !(low..high).contains(&p) {
            return Err(Failure {
                day,
                symptom: format!(
                    "{} does not show the expected split: {name} holds {p:.1}% of {}, expected \
                     {low:.0}–{:.0}%",
                    summary.kind.title(),
                    summary.kind.weighed(),
                    high.min(100.0)
                ),
                hint,
            });
        }
    }
    summary.keep_checked(expected);
    Ok(())
}

/// One standard error of a share `percent` measured from `samples`
/// independent samples, in points: `100 × √(p(1−p)/n)`.
pub fn standard_error_points(percent: f64, samples: i64) -> f64 {
    let p = percent / 100.0;
    100.0 * (p * (1.0 - p) / samples.max(1) as f64).sqrt()
}

/// `part` as a share of `whole`, both times measured in the same run: the
/// form every same-run yardstick takes (a stall against its capture, a
/// delay against one job, waiting against the workers' time).
pub fn share(part: std::time::Duration, whole: std::time::Duration) -> f64 {
    part.as_secs_f64() / whole.as_secs_f64().max(1e-9)
}

/// Prints the closing lines of a run: what it wrote, then either what is
/// wrong and where to read about it, or the summary and what to run next.
pub fn report<T: fmt::Display>(files: &[PathBuf], verdict: &Result<T, Failure>) {
    let wrote = files
        .iter()
        .map(|f| match std::fs::metadata(f) {
            Ok(m) => format!("{} ({} bytes)", out::display(f), m.len()),
            Err(_) => format!("{} (missing)", out::display(f)),
        })
        .collect::<Vec<_>>()
        .join("\n");
    match verdict {
        Err(f) => {
            let read = format!(
                "{} (mdbook serve --open)\nself-check: cargo test -p lab-{}\n\
                 stuck? cargo workbook hint {} (one more hint each time)",
                f.page(),
                f.day,
                f.day
            );
            out::closing(&[
                ("wrong", &f.symptom),
                ("ask", &f.hint),
                ("wrote", &wrote),
                ("read", &read),
            ]);
        }
        Ok(summary) => {
            let mut next = String::new();
            for f in files {
                let shown = out::display(f);
                let name = f.to_string_lossy();
                if name.ends_with(".svg") {
                    next.push_str(&format!("open {shown} in a browser\n"));
                } else if name.ends_with("/profile/profile.pb") {
                    // pprof-rs's criterion profiler writes this one itself and
                    // keeps its own unwinder frames on top of every stack
                    // (labkit's captures strip them): hide them.
                    next.push_str(&format!(
                        "go tool pprof -top -hide='^(backtrace::|<pprof::)' {shown}\n"
                    ));
                } else if name.ends_with(".pb.gz") || name.ends_with(".pb") {
                    next.push_str(&format!("go tool pprof -top {shown}\n"));
                } else if name.ends_with("dhat-heap.json") {
                    next.push_str(&format!(
                        "load {shown} in dh_view: https://nnethercote.github.io/dh_view/dh_view.html\n"
                    ));
                } else if name.ends_with("trace.json") {
                    next.push_str(&format!("open {shown} in https://ui.perfetto.dev\n"));
                }
            }
            out::closing(&[("wrote", &wrote), ("profile", summary), ("next", &next)]);
        }
    }
}

/// How a summary says whether a target held: `met` or `missed`. The
/// summary states the target, never the measured number, so it reads the
/// same on every run that meets it.
pub fn met(held: bool) -> &'static str {
    if held { "met" } else { "missed" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_errors_shrink_with_the_square_root_of_the_samples() {
        assert!((standard_error_points(50.0, 100) - 5.0).abs() < 1e-9);
        assert!((standard_error_points(80.0, 400) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_failure_reads_symptom_hint_page() {
        let f = Failure {
            day: "083",
            symptom: "cpu profile is 0 bytes".into(),
            hint: "flush it",
        };
        let text = f.to_string();
        let symptom = text.find("symptom: cpu profile is 0 bytes").unwrap();
        let hint = text.find("hint:    flush it").unwrap();
        let read = text.find("read:    book/day-083.md").unwrap();
        assert!(symptom < hint && hint < read, "{text}");
    }
}
