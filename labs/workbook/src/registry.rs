//! Every day of the workbook, in book order, declared once.
//!
//! An entry holds what cannot be derived: the day's module (`day083` is
//! Day 083: its id, its `check` and its `report` all come from it), its
//! month and week, its title, the symptom the lab as shipped must fail
//! with, and how the day is checked. Everything else follows from the id
//! by convention — the packages `lab-083` and `solution-083`, the page
//! `book/day-083.md`, the snapshot
//! `solutions/solution-083/tests/snapshots/solution__summary.snap`, the
//! output directory `lab-out/083/` — and `cargo workbook check` proves the
//! files are where the conventions say, the journal's rows and the pages'
//! navigation lines agree with the entries.
//!
//! The pages include each symptom from here (by the anchors `symptom-NNN`),
//! and the day's check reads it from here ([`symptom`]), so the book, the
//! self-check and CI's red check print the same sentence, typed once.
//!
//! To add a day: copy a lab, its solution, its day module and its page
//! under the new id, add one `day!` entry below, its SUMMARY.md line, its
//! journal row and the navigation lines, and run `cargo workbook check
//! --no-labs`: it names whatever is missing or disagrees.

use std::fmt::Display;
use std::path::{Path, PathBuf};

use crate::days;
use crate::service::Launch;
use crate::verdict::Failure;

/// One day of the workbook.
#[derive(Debug)]
pub struct Day {
    /// Three digits, as in `lab-083`: the name of the day's module.
    pub id: &'static str,
    /// Where the day sits in the journal: `Month 4 · Week 2`.
    pub week: &'static str,
    pub title: &'static str,
    /// What the lab's self-check says as shipped (the `symptom:` line
    /// contains it; numbers may surround it).
    pub symptom: &'static str,
    pub check: Check,
    /// Whether a fixed lab must print exactly the solution's summary.
    /// Day 086 accepts any fix that cools the lock, and different fixes
    /// leave different contention behind.
    pub lab_matches_solution: bool,
}

/// How a day judges a program. Each returns the summary a passing check
/// prints (the solution's snapshot), or the day's [`Failure`].
#[derive(Debug, Clone, Copy)]
pub enum Check {
    /// Run the program with `--out DIR` to its end, then read what it
    /// wrote. `report` is what the program itself prints when it is done:
    /// what it wrote, and what is wrong with it or what to run next.
    Files {
        check: fn(&Path) -> Result<String, Failure>,
        report: fn(&Path),
    },
    /// Start the program as a service and drive it from outside.
    Service(fn(Launch, &Path, &Path) -> Result<String, Failure>),
}

fn shown<T: Display>(verdict: Result<T, Failure>) -> Result<String, Failure> {
    verdict.map(|summary| summary.to_string())
}

/// One registry entry, from the day's module: `module: day083` makes the
/// id `"083"` (the module's own `DAY`) and takes the check and report of
/// that module, so an entry cannot point at another day's code.
macro_rules! day {
    (
        module: $module:ident,
        week: $week:literal,
        title: $title:literal,
        check: $kind:ident,
        $(lab_matches_solution: $matches:literal,)?
        symptom: $symptom:literal $(,)?
    ) => {
        Day {
            id: days::$module::DAY,
            week: $week,
            title: $title,
            symptom: $symptom,
            check: day!(@check $kind $module),
            lab_matches_solution: day!(@matches $($matches)?),
        }
    };
    (@check files $module:ident) => {
        Check::Files {
            check: |dir| shown(days::$module::check(dir)),
            report: days::$module::report,
        }
    };
    (@check service $module:ident) => {
        Check::Service(|launch, exe, dir| shown(days::$module::check(launch, exe, dir)))
    };
    (@matches) => {
        true
    };
    (@matches $matches:literal) => {
        $matches
    };
}

/// The days, in book order.
pub const DAYS: &[Day] = &[
    day! {
        module: day080,
        week: "Month 3 · Week 4",
        title: "a first CPU profile",
        check: files,
        // ANCHOR: symptom-080
        symptom: "cpu profile has 0 samples: the profiler stopped before the work began",
        // ANCHOR_END: symptom-080
    },
    day! {
        module: day081,
        week: "Month 3 · Week 4",
        title: "sampling is statistics",
        check: files,
        // ANCHOR: symptom-081
        symptom: "too few to rank hash and compress",
        // ANCHOR_END: symptom-081
    },
    day! {
        module: day082,
        week: "Month 3 · Week 4",
        title: "whose CPU is it?",
        check: files,
        // ANCHOR: symptom-082
        symptom: "every worker thread is unnamed",
        // ANCHOR_END: symptom-082
    },
    day! {
        module: day083,
        week: "Month 3 · Week 4",
        title: "profiling concurrent code",
        check: files,
        // ANCHOR: symptom-083
        symptom: "cpu profile is 0 bytes: the program exited before its buffered writer was flushed",
        // ANCHOR_END: symptom-083
    },
    day! {
        module: day084,
        week: "Month 3 · Week 4",
        title: "heap profiles",
        check: files,
        // ANCHOR: symptom-084
        symptom: "what the data needs: each receipt keeps its scratch buffer",
        // ANCHOR_END: symptom-084
    },
    day! {
        module: day085,
        week: "Month 4 · Week 1",
        title: "the block profile",
        check: files,
        // ANCHOR: symptom-085
        symptom: "block profile has 0 contentions: block sampling was never turned on",
        // ANCHOR_END: symptom-085
    },
    day! {
        module: day086,
        week: "Month 4 · Week 1",
        title: "the mutex profile",
        check: files,
        lab_matches_solution: false,
        // ANCHOR: symptom-086
        symptom: "one hot lock: the releases in record_result kept other threads waiting",
        // ANCHOR_END: symptom-086
    },
    day! {
        module: day087,
        week: "Month 4 · Week 1",
        title: "task dumps and leaks",
        check: files,
        // ANCHOR: symptom-087
        symptom: "more tasks wait in await_reply (channel receive) after 20 more requests",
        // ANCHOR_END: symptom-087
    },
    day! {
        module: day088,
        week: "Month 4 · Week 1",
        title: "dumps on demand",
        check: service,
        // ANCHOR: symptom-088
        symptom: "the service died on SIGQUIT",
        // ANCHOR_END: symptom-088
    },
    day! {
        module: day089,
        week: "Month 4 · Week 1",
        title: "live profiling a tokio service",
        check: service,
        // ANCHOR: symptom-089
        symptom: "the profile handler blocks the executor",
        // ANCHOR_END: symptom-089
    },
    day! {
        module: day090,
        week: "Month 4 · Week 2",
        title: "execution traces",
        check: files,
        // ANCHOR: symptom-090
        symptom: "the trace has no spans: the flush guard was dropped before the pipeline ran",
        // ANCHOR_END: symptom-090
    },
    day! {
        module: day091,
        week: "Month 4 · Week 2",
        title: "benchmarks that profile",
        check: files,
        // ANCHOR: symptom-091
        symptom: "the optimiser deleted the work the benchmark was meant to measure",
        // ANCHOR_END: symptom-091
    },
    day! {
        module: day092,
        week: "Month 4 · Week 2",
        title: "cores and pools",
        check: files,
        // ANCHOR: symptom-092
        symptom: "CPU-bound jobs are running on the async worker threads",
        // ANCHOR_END: symptom-092
    },
    day! {
        module: day093,
        week: "Month 4 · Week 2",
        title: "compare before and after",
        check: files,
        // ANCHOR: symptom-093
        symptom: "raw sample counts of runs of different length compared",
        // ANCHOR_END: symptom-093
    },
];

impl Day {
    /// The registry entry for `id` (`"083"`).
    pub fn get(id: &str) -> Option<&'static Day> {
        DAYS.iter().find(|d| d.id == id)
    }

    /// The day of a package: `lab-083` or `solution-083` is Day 083. A
    /// package the registry does not know is a mistake in the workspace,
    /// told plainly.
    pub fn from_package(package: &str) -> &'static Day {
        package
            .strip_prefix("lab-")
            .or_else(|| package.strip_prefix("solution-"))
            .and_then(Day::get)
            .unwrap_or_else(|| {
                panic!(
                    "package {package:?} is not a day of the registry \
                     (labs/workbook/src/registry.rs): add an entry for it"
                )
            })
    }

    /// The closing lines of a run that wrote into `dir`: what it wrote,
    /// then what is wrong and where to read about it, or the summary and
    /// what to run next. A lab's or solution's `main` ends with it.
    pub fn report(&self, dir: &Path) {
        match self.check {
            Check::Files { report, .. } => report(dir),
            _ => panic!(
                "Day {}'s programs are services: they report as they serve",
                self.id
            ),
        }
    }

    /// The lab's package name, `lab-083`.
    pub fn lab(&self) -> String {
        format!("lab-{}", self.id)
    }

    /// The solution's package name, `solution-083`.
    pub fn solution(&self) -> String {
        format!("solution-{}", self.id)
    }

    /// The lab's directory, relative to the workspace root.
    pub fn lab_dir(&self) -> PathBuf {
        Path::new("labs").join(self.lab())
    }

    /// The solution's directory, relative to the workspace root.
    pub fn solution_dir(&self) -> PathBuf {
        Path::new("solutions").join(self.solution())
    }

    /// The book page, relative to the workspace root.
    pub fn page(&self) -> String {
        format!("book/day-{}.md", self.id)
    }

    /// The page's file name, as SUMMARY.md links it.
    pub fn page_file(&self) -> String {
        format!("day-{}.md", self.id)
    }

    /// The solution's snapshot, relative to the workspace root: every
    /// solution's test is `tests/solution.rs` and snapshots `"summary"`.
    pub fn snapshot(&self) -> PathBuf {
        self.solution_dir()
            .join("tests/snapshots/solution__summary.snap")
    }

    /// Where a run writes when `--out` is not given: `lab-out/083/` under
    /// the workspace root (git-ignored).
    pub fn default_out(&self) -> PathBuf {
        crate::root().join("lab-out").join(self.id)
    }
}

/// The documented symptom of the day `id`, for its check to print (a day
/// module's `SYMPTOM`): the sentence is typed once, in its registry entry.
/// Evaluated at compile time; an id with no entry does not compile.
pub const fn symptom(id: &str) -> &'static str {
    let mut i = 0;
    while i < DAYS.len() {
        if same(DAYS[i].id, id) {
            return DAYS[i].symptom;
        }
        i += 1;
    }
    panic!("a day module without a registry entry")
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The id of a day module, from its path (`workbook::days::day083` →
/// `"083"`), so a module never types its id again.
pub const fn module_day(module_path: &'static str) -> &'static str {
    let bytes = module_path.as_bytes();
    let (_, id) = bytes.split_at(bytes.len() - 3);
    match std::str::from_utf8(id) {
        Ok(id) => id,
        Err(_) => panic!("a day module is named dayNNN"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_three_digits_unique_and_in_book_order() {
        let ids: Vec<&str> = DAYS.iter().map(|d| d.id).collect();
        for id in &ids {
            assert!(
                id.len() == 3 && id.bytes().all(|b| b.is_ascii_digit()),
                "{id}"
            );
        }
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(ids, sorted);
    }

    #[test]
    fn packages_name_their_day() {
        assert_eq!(Day::from_package("lab-083").id, "083");
        assert_eq!(
            Day::from_package("solution-089").title,
            "live profiling a tokio service"
        );
        assert_eq!(
            Day::get("083").unwrap().snapshot(),
            Path::new("solutions/solution-083/tests/snapshots/solution__summary.snap")
        );
        assert_eq!(days::day083::DAY, "083");
        assert_eq!(days::day092::DAY, "092");
    }
}
