//! `workbook`: the learner's and the project's commands over the registry.
//!
//! - `cargo progress` (`workbook progress`): every day on one screen —
//!   fixed, not yet (and why), not written — then the next step.
//! - `workbook check` (CI, and `bash .ci/labs-are-red`): the tree agrees
//!   with the registry (`layout.rs`: packages, module, snapshot, page and
//!   its journal format, navigation line, SUMMARY and journal rows), and
//!   every lab, as shipped, fails its self-check with exactly its
//!   documented symptom.
//! - `workbook new 095 "title"`: a new day's scaffold (`scaffold.rs`).
//! - `workbook hint 083`: the day's next hint (`hints.rs`).

mod hints;
mod layout;
mod pages;
mod scaffold;
mod selfchecks;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use selfchecks::{Outcome, Verdict};
use workbook::{DAYS, Day};

#[derive(Parser, Debug)]
#[command(name = "workbook", about = "The workbook's own commands")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand, Debug)]
enum Task {
    /// Every day: fixed or not yet (and why); then the next step
    Progress,
    /// The project check CI runs: the tree matches the registry, and every
    /// lab is red as shipped with its documented symptom
    Check {
        /// Check the tree only; do not run the labs' self-checks
        #[arg(long)]
        no_labs: bool,
    },
    /// Scaffolds a new day after the last one: lab, solution, day module,
    /// page and registry entry, wired into the workspace, SUMMARY.md, the
    /// journal and the navigation lines
    New {
        /// The day's id, three digits, after the last day's
        #[arg(value_parser = scaffold::parse_id)]
        id: String,
        /// The day's title, lower case as in the registry ("whose CPU is it?")
        #[arg(value_parser = clap::builder::NonEmptyStringValueParser::new())]
        title: String,
        /// Its place in the journal (default: the last day's), e.g. "Month 4 · Week 3"
        #[arg(long)]
        week: Option<String>,
        /// What the lab as shipped fails with, in one sentence
        #[arg(long, default_value = "the profile does not show the work")]
        symptom: String,
    },
    /// The day's next hint: where to look, then the concept, then the fix
    Hint {
        /// The day's id, e.g. 083
        id: String,
        /// Start over: show the first hint again
        #[arg(long)]
        reset: bool,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Task::Progress => progress(),
        Task::Check { no_labs } => check(!no_labs),
        Task::New {
            id,
            title,
            week,
            symptom,
        } => scaffold::run(&id, &title, week.as_deref(), &symptom),
        Task::Hint { id, reset } => hints::run(&id, reset),
    }
}

/// Colours for a terminal, nothing for a pipe or a file.
struct Paint(bool);

impl Paint {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

fn every_day() -> Vec<&'static Day> {
    DAYS.iter().collect()
}

fn progress() -> ExitCode {
    let paint = Paint(std::io::stdout().is_terminal());
    let started = Instant::now();
    let outcomes = selfchecks::run(&every_day());
    let title_width = DAYS
        .iter()
        .map(|d| d.title.chars().count())
        .max()
        .unwrap_or(0);
    for day in DAYS {
        let state = match outcomes.iter().find(|o| o.day.id == day.id) {
            None => paint.paint("31", "no outcome (an error in cargo progress)"),
            Some(o) => match &o.verdict {
                Verdict::Fixed => paint.paint("32", "fixed"),
                Verdict::NotYet(symptom) => format!(
                    "{}: {}",
                    paint.paint("33", "not yet"),
                    symptom
                        .as_deref()
                        .unwrap_or("red, with no symptom line (a crash?)")
                ),
                Verdict::DoesNotBuild(why) => {
                    format!("{}: {why}", paint.paint("31", "does not build"))
                }
            },
        };
        println!("Day {}  {:<title_width$}  {state}", day.id, day.title);
    }
    println!();
    match outcomes.iter().find(|o| o.verdict != Verdict::Fixed) {
        Some(next) => {
            let day = next.day;
            println!("next: Day {} — {}", day.id, day.title);
            println!("  read:   {} (mdbook serve --open)", day.page());
            println!("  run:    cargo run -p {}", day.lab());
            println!("  fix:    {}/src/main.rs", day.lab_dir().display());
            println!("  check:  cargo test -p {}", day.lab());
        }
        None => println!("every written day is fixed: well done"),
    }
    let fixed: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.verdict == Verdict::Fixed)
        .collect();
    if !fixed.is_empty() {
        let names: Vec<String> = fixed.iter().map(|o| o.day.lab()).collect();
        println!();
        println!(
            "{}: CI checks that every lab is red as shipped (bash .ci/labs-are-red); your fixed \
             {} would fail it: {}.",
            paint.paint("1", "note"),
            if fixed.len() == 1 { "lab" } else { "labs" },
            names.join(", ")
        );
        println!(
            "  to put a lab back as shipped: git restore {}",
            fixed[0].day.lab_dir().display()
        );
    }
    eprintln!("({:.1} s)", started.elapsed().as_secs_f64());
    ExitCode::SUCCESS
}

fn check(run_labs: bool) -> ExitCode {
    let root = workbook::root();
    let mut failures = 0;
    let mut report = |ok: bool, what: String| {
        if ok {
            println!("ok   {what}");
        } else {
            failures += 1;
            println!("FAIL {what}");
        }
    };
    for (ok, what) in layout::check(&root) {
        report(ok, what);
    }
    if run_labs {
        // This machine first; then each emulated one, for the days whose
        // programs run to their end (a service's verdict is its own
        // same-run comparison, and drives it for many seconds).
        let mut runs = vec![(None, every_day())];
        for machine in workbook::machines::EMULATED {
            let days = every_day()
                .into_iter()
                .filter(|d| matches!(d.check, workbook::Check::Files { .. }))
                .collect();
            runs.push((Some(machine), days));
        }
        for (machine, days) in runs {
            let on = machine.map_or(String::new(), |m| format!(" on {}", m.name));
            let env = machine.map_or(&[][..], |m| m.env);
            for o in selfchecks::run_with(&days, env) {
                let lab = format!("{}{on}", o.day.lab());
                let documented = o.day.symptom;
                match &o.verdict {
                    Verdict::NotYet(Some(s)) if s.contains(documented) => report(
                        true,
                        format!(
                            "{lab}: red with \"{documented}\" ({:.1} s)",
                            o.elapsed.as_secs_f64()
                        ),
                    ),
                    Verdict::Fixed => report(
                        false,
                        format!(
                            "{lab}: its self-check passes as shipped; it must be red until the \
                             learner fixes it (git restore {} puts it back)",
                            o.day.lab_dir().display()
                        ),
                    ),
                    Verdict::DoesNotBuild(why) => report(false, format!("{lab}: {why}")),
                    Verdict::NotYet(symptom) => report(
                        false,
                        format!(
                            "{lab}: red, but not with its documented symptom \"{documented}\" \
                             (said: {symptom:?}):\n{}",
                            tail(&o.log, 30)
                        ),
                    ),
                }
            }
        }
    }
    if failures == 0 {
        println!("workbook check passed");
        ExitCode::SUCCESS
    } else {
        println!("workbook check: {failures} failed");
        ExitCode::FAILURE
    }
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
