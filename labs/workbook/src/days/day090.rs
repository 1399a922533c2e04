//! Day 090, execution traces: the trace of the pipeline must be a whole,
//! readable Chrome trace that shows the consumer busy nearly all the time.

use std::fmt;
use std::path::Path;

use crate::verdict::Failure;
use labkit::trace::{self, TRACE_FILE, Trace};

pub const DAY: &str = crate::registry::module_day(module_path!());
/// What the lab as shipped fails with, from its registry entry.
const SYMPTOM: &str = crate::registry::symptom(DAY);
/// The question a red self-check asks: where to look, never the fix.
const FIRST_HINT: &str = crate::registry::first_hint(DAY);

/// 200 items through three stages make about 600 spans.
pub const MIN_SPANS: u64 = 300;

/// What the day's run shows.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub trace: Trace,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.trace)?;
        writeln!(f, "spans: ≥ {MIN_SPANS}")
    }
}

/// Reads `dir/trace.json` and checks it.
pub fn check(dir: &Path) -> Result<Outcome, Failure> {
    let fail = |symptom: String, hint: &'static str| Failure {
        day: DAY,
        symptom,
        hint,
    };
    let trace = trace::load(&dir.join(TRACE_FILE)).map_err(|e| {
        fail(
            format!("the trace cannot be read: {e}"),
            "run the program again and read what it printed when it stopped",
        )
    })?;
    if trace.spans == 0 {
        return Err(fail(SYMPTOM.into(), FIRST_HINT));
    }
    if trace.spans < MIN_SPANS {
        return Err(fail(
            format!(
                "the trace has only {} spans (want at least {MIN_SPANS}): part of the run was \
                 not traced",
                trace.spans
            ),
            "keep the trace scope around the whole pipeline",
        ));
    }
    let consumer = trace.busy_percent("consumer");
    if consumer < 60.0 {
        return Err(fail(
            format!(
                "the consumer was busy only {consumer:.0}% of the run; the day's pipeline is \
                 paced by its consumer (expected ≥ 60%)"
            ),
            "keep the pipeline as shipped: a 2 ms sink and two workers",
        ));
    }
    Ok(Outcome { trace })
}

/// Checks what a run wrote into `dir`, draws `trace.svg` from a readable
/// trace, and prints the closing lines.
pub fn report(dir: &Path) {
    let verdict = check(dir);
    if let Ok(outcome) = &verdict
        && let Err(e) = outcome.trace.save_timeline(&dir.join(TIMELINE_FILE))
    {
        eprintln!("labkit: {e}");
    }
    crate::verdict::report(&[dir.join(TRACE_FILE), dir.join(TIMELINE_FILE)], &verdict);
}

/// The timeline drawn from the trace.
pub const TIMELINE_FILE: &str = "trace.svg";
