//! Day 087, task dumps and leaks: two dumps of the quote service, 20
//! requests apart, must show no group of tasks growing.

use std::fmt;
use std::path::Path;

use crate::verdict::Failure;
use labkit::tasks::{self, DumpDiff};

pub const DAY: &str = crate::registry::module_day(module_path!());
/// The question a red self-check asks: where to look, never the fix.
const FIRST_HINT: &str = crate::registry::first_hint(DAY);

/// The dumps the program writes, after 20 and after 40 requests.
pub const DUMP_1: &str = "dump-1.txt";
pub const DUMP_2: &str = "dump-2.txt";

/// What the two dumps show.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub diff: DumpDiff,
    pub alive: (usize, usize),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "task dumps after 20 and after 40 requests")?;
        write!(f, "{}", self.diff)?;
        let (before, after) = self.alive;
        let alive = if after > before { "grew" } else { "steady" };
        writeln!(f, "alive tasks (RuntimeMetrics): {alive}")
    }
}

/// Reads the two dumps in `dir` and checks that nothing grew.
pub fn check(dir: &Path) -> Result<Outcome, Failure> {
    let fail = |symptom: String, hint: &'static str| Failure {
        day: DAY,
        symptom,
        hint,
    };
    let load = |name: &str| {
        tasks::load(&dir.join(name)).map_err(|e| {
            fail(
                format!("a task dump cannot be read: {e}"),
                "run the program again and read what it printed when it stopped",
            )
        })
    };
    let (first, second) = (load(DUMP_1)?, load(DUMP_2)?);
    let diff = tasks::diff(&first, &second);
    if let Some((frame, kind, grew)) = diff.grown().first().copied() {
        return Err(fail(
            format!("task leak: {grew} more tasks wait in {frame} ({kind}) after 20 more requests"),
            FIRST_HINT,
        ));
    }
    if second.alive > first.alive {
        return Err(fail(
            format!(
                "no group grew, but the runtime counts {} more alive tasks",
                second.alive - first.alive
            ),
            "look for tasks the dump cannot trace: ones busy or just woken when it was taken",
        ));
    }
    Ok(Outcome {
        diff,
        alive: (first.alive, second.alive),
    })
}

/// Checks what a run wrote into `dir` and prints the closing lines.
pub fn report(dir: &Path) {
    crate::verdict::report(&[dir.join(DUMP_1), dir.join(DUMP_2)], &check(dir));
}
