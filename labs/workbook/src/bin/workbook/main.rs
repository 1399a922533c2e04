//! `workbook`: the learner's and the project's commands over the registry.
//!
//! - `cargo progress` (`workbook progress`): every day on one screen —
//!   fixed, not yet (and why), not written — then the next step.
//! - `workbook check` (CI, and `bash .ci/labs-are-red`): every registry
//!   day has its lab, solution, snapshot, page and SUMMARY entry; every
//!   page keeps the journal format (`pages.rs`) and the journal index lists
//!   it; the workspace lists each crate once; and every lab, as shipped, fails its
//!   self-check with exactly its documented symptom.

mod pages;
mod selfchecks;

use std::io::IsTerminal;
use std::path::Path;
use std::process::{Command, ExitCode};
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
    /// Every day: fixed, not yet (and why), not written; then the next step
    Progress,
    /// The project check CI runs: the tree matches the registry, and every
    /// lab is red as shipped with its documented symptom
    Check {
        /// Check the tree only; do not run the labs' self-checks
        #[arg(long)]
        no_labs: bool,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Task::Progress => progress(),
        Task::Check { no_labs } => check(!no_labs),
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

fn written() -> Vec<&'static Day> {
    DAYS.iter().filter(|d| d.written()).collect()
}

fn progress() -> ExitCode {
    let paint = Paint(std::io::stdout().is_terminal());
    let started = Instant::now();
    eprintln!("running every lab's self-check, {} at a time…", cores());
    let outcomes = selfchecks::run(&written());
    let title_width = DAYS
        .iter()
        .map(|d| d.title.chars().count())
        .max()
        .unwrap_or(0);
    for day in DAYS {
        let state = match outcomes.iter().find(|o| o.day.id == day.id) {
            None => paint.paint("2", "not written yet"),
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

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
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
    for (ok, what) in layout(&root) {
        report(ok, what);
    }
    if run_labs {
        // This machine first; then each emulated one, for the days whose
        // programs run to their end (a service's verdict is its own
        // same-run comparison, and drives it for many seconds).
        let mut runs = vec![(None, written())];
        for machine in workbook::machines::EMULATED {
            let days = written()
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

/// The tree against the registry and the workspace: one line per fact.
fn layout(root: &Path) -> Vec<(bool, String)> {
    let mut results = Vec::new();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap_or_default();
    let members = toml_array(&manifest, "members");
    let defaults = toml_array(&manifest, "default-members");
    let summary = std::fs::read_to_string(root.join("book/SUMMARY.md")).unwrap_or_default();
    let packages = cargo_packages(root);

    for day in DAYS {
        let mut missing = Vec::new();
        if day.written() {
            let lab = day.lab_dir();
            let solution = day.solution_dir();
            let package_at = |name: &str, dir: &Path| {
                packages
                    .iter()
                    .any(|(n, m)| n == name && Path::new(m).ends_with(dir.join("Cargo.toml")))
            };
            if !package_at(&day.lab(), &lab) {
                missing.push(format!("package {} in {}", day.lab(), lab.display()));
            }
            if !package_at(&day.solution(), &solution) {
                missing.push(format!(
                    "package {} in {}",
                    day.solution(),
                    solution.display()
                ));
            }
            let lab_dir = lab.display().to_string();
            let solution_dir = solution.display().to_string();
            if defaults.contains(&lab_dir) {
                missing.push(format!("{lab_dir} out of default-members (labs are red)"));
            }
            if !defaults.contains(&solution_dir) {
                missing.push(format!("{solution_dir} in default-members"));
            }
            for file in [
                lab.join("tests/self_check.rs"),
                solution.join("tests/solution.rs"),
                day.snapshot(),
                day.page().into(),
            ] {
                if !root.join(&file).is_file() {
                    missing.push(file.display().to_string());
                }
            }
            if !summary.contains(&format!("({})", day.page_file())) {
                missing.push(format!("a SUMMARY.md entry linking {}", day.page_file()));
            }
            if let Ok(page) = std::fs::read_to_string(root.join(day.page())) {
                for landmark in pages::missing(&page) {
                    missing.push(format!("{}: {landmark}", day.page()));
                }
            }
        } else if !summary.contains(&format!("Day {}", day.id)) {
            missing.push("a SUMMARY.md entry (a draft, `[Day NNN — title]()`)".into());
        }
        let has = if day.written() {
            "lab, solution, snapshot, page, SUMMARY entry"
        } else {
            "not written yet; SUMMARY entry"
        };
        if missing.is_empty() {
            results.push((true, format!("Day {}: {has}", day.id)));
        } else {
            results.push((
                false,
                format!("Day {}: missing {}", day.id, missing.join("; ")),
            ));
        }
    }

    let index = std::fs::read_to_string(root.join("book/journal.md")).unwrap_or_default();
    let unindexed = pages::unindexed(&index, DAYS.iter());
    let linked = summary.contains("(journal.md)");
    results.push((
        linked && unindexed.is_empty(),
        if !linked {
            "journal index: book/journal.md is not in SUMMARY.md".to_string()
        } else if unindexed.is_empty() {
            "journal index: every written day, in SUMMARY.md".to_string()
        } else {
            format!(
                "journal index: book/journal.md does not link {}",
                unindexed.join(", ")
            )
        },
    ));

    for (name, manifest) in &packages {
        let day_package = name.starts_with("lab-") || name.starts_with("solution-");
        let known = DAYS
            .iter()
            .any(|d| d.written() && (*name == d.lab() || *name == d.solution()));
        if day_package && !known {
            results.push((
                false,
                format!("{name} ({manifest}) is no day of the registry: add an entry for it"),
            ));
        }
    }

    let mut twice: Vec<&String> = Vec::new();
    for list in [&members, &defaults] {
        for (i, m) in list.iter().enumerate() {
            if list[..i].contains(m) {
                twice.push(m);
            }
        }
    }
    let mut unlisted = Vec::new();
    for base in ["labs", "solutions"] {
        for entry in std::fs::read_dir(root.join(base))
            .into_iter()
            .flatten()
            .flatten()
        {
            let dir = format!("{base}/{}", entry.file_name().to_string_lossy());
            if entry.path().join("Cargo.toml").is_file() && !members.contains(&dir) {
                unlisted.push(dir);
            }
        }
    }
    let not_members: Vec<&String> = defaults.iter().filter(|d| !members.contains(d)).collect();
    let ok =
        twice.is_empty() && unlisted.is_empty() && not_members.is_empty() && !members.is_empty();
    results.push((
        ok,
        if ok {
            format!(
                "workspace: {} members, each listed once, every crate a member",
                members.len()
            )
        } else {
            format!(
                "workspace: listed twice {twice:?}; crates that are not members {unlisted:?}; \
                 default members that are not members {not_members:?}"
            )
        },
    ));
    results
}

/// The quoted strings of a `name = [ ... ]` array in the workspace's
/// Cargo.toml (members lists hold nothing else).
fn toml_array(manifest: &str, name: &str) -> Vec<String> {
    let Some(start) = manifest
        .lines()
        .position(|l| l.trim_start().starts_with(&format!("{name} = [")))
    else {
        return Vec::new();
    };
    let mut items = Vec::new();
    for line in manifest.lines().skip(start) {
        let body = line.split('#').next().unwrap_or("");
        let body = body.split_once('[').map_or(body, |(_, rest)| rest);
        for piece in body.split(',') {
            let piece = piece.trim().trim_end_matches(']').trim();
            if let Some(item) = piece.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
                items.push(item.to_string());
            }
        }
        if line.contains(']') {
            break;
        }
    }
    items
}

/// Every workspace package's name and manifest path, from `cargo metadata`.
fn cargo_packages(root: &Path) -> Vec<(String, String)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let Ok(output) = Command::new(cargo)
        .current_dir(root)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
    else {
        return Vec::new();
    };
    let Ok(metadata) = serde_json::from_slice::<serde_json::Value>(&output.stdout) else {
        return Vec::new();
    };
    metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some((
                p["name"].as_str()?.to_string(),
                p["manifest_path"].as_str()?.to_string(),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_are_read_across_lines_and_comments() {
        let manifest = "[workspace]\nmembers = [\n    \"a\", # one\n    \"b\",\n]\ndefault-members = [\"a\"]\n";
        assert_eq!(toml_array(manifest, "members"), ["a", "b"]);
        assert_eq!(toml_array(manifest, "default-members"), ["a"]);
    }
}
