//! Runs the labs' self-checks the way a learner would (`cargo test -p
//! lab-NNN`), but built in one cargo invocation and run in parallel,
//! bounded by the cores.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use workbook::{Check, Day};

/// What one lab's self-check said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Green: the learner's lab produces the expected profile.
    Fixed,
    /// Red, with the `symptom:` line it printed (if it printed one).
    NotYet(Option<String>),
    /// The lab or its test does not compile.
    DoesNotBuild(String),
}

#[derive(Debug)]
pub struct Outcome {
    pub day: &'static Day,
    pub verdict: Verdict,
    pub elapsed: Duration,
    /// What the self-check printed, for a verdict that needs explaining.
    pub log: String,
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Builds the self-checks of `days` in one cargo invocation, then runs
/// them, at most one per core at a time. Service days go first: they take
/// longest, and starting them first keeps the total short.
pub fn run(days: &[&'static Day]) -> Vec<Outcome> {
    run_with(days, &[])
}

/// [`run`], with `env` added to every self-check's environment (and so to
/// the lab it runs): an emulated machine, [`workbook::machines`].
pub fn run_with(
    days: &[&'static Day],
    env: &'static [(&'static str, &'static str)],
) -> Vec<Outcome> {
    let root = workbook::root();
    let (executables, build_log) = build(&root, days);
    let mut queue: Vec<&'static Day> = days.to_vec();
    queue.sort_by_key(|d| !matches!(d.check, Check::Service(_)));
    let queue = Mutex::new(VecDeque::from(queue));
    let results = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..workers.min(days.len()) {
            s.spawn(|| {
                loop {
                    let Some(day) = queue.lock().unwrap().pop_front() else {
                        return;
                    };
                    let outcome = match executables.iter().find(|(id, _)| *id == day.id) {
                        Some((_, exe)) => run_one(&root, day, exe, env),
                        None => Outcome {
                            day,
                            verdict: Verdict::DoesNotBuild(compile_error(&build_log, day)),
                            elapsed: Duration::ZERO,
                            log: build_log.clone(),
                        },
                    };
                    results.lock().unwrap().push(outcome);
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|o| o.day.id);
    results
}

/// `cargo build --tests` of every lab at once (`--keep-going`, so one lab
/// that does not compile does not hide the others), and the path of each
/// lab's `self_check` test binary.
fn build(root: &Path, days: &[&'static Day]) -> (Vec<(&'static str, PathBuf)>, String) {
    let mut command = Command::new(cargo());
    command
        .current_dir(root)
        .args([
            "build",
            "--tests",
            "--keep-going",
            "--message-format=json-render-diagnostics",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for day in days {
        command.args(["-p", &day.lab()]);
    }
    let output = match command.output() {
        Ok(output) => output,
        Err(e) => return (Vec::new(), format!("cannot run cargo: {e}")),
    };
    // A lab counts as built only when both its program and its self-check
    // were: a self-check whose program failed to compile would run the
    // previous build's program and report on stale code.
    let mut tests = Vec::new();
    let mut programs = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(manifest), Some(name)) = (
            message["manifest_path"].as_str(),
            message["target"]["name"].as_str(),
        ) else {
            continue;
        };
        let Some(day) = days
            .iter()
            .find(|d| Path::new(manifest).ends_with(d.lab_dir().join("Cargo.toml")))
        else {
            continue;
        };
        let test = message["profile"]["test"].as_bool() == Some(true);
        match message["executable"].as_str() {
            Some(exe) if test && name == "self_check" => tests.push((day.id, PathBuf::from(exe))),
            Some(_) if !test && name == day.lab() => programs.push(day.id),
            _ => {}
        }
    }
    let executables = tests
        .into_iter()
        .filter(|(id, _)| programs.contains(id))
        .collect();
    (
        executables,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The first compiler error located in the lab's directory, with where
/// it is, or a pointer to the command that shows it.
fn compile_error(build_log: &str, day: &Day) -> String {
    let dir = day.lab_dir().display().to_string();
    let mut error = None;
    for line in build_log.lines() {
        if line.starts_with("error") {
            error = Some(line);
        } else if let (Some(e), Some(place)) = (error, line.trim().strip_prefix("--> "))
            && place.starts_with(&dir)
        {
            return format!("{e} at {place}");
        }
    }
    format!("it does not compile: cargo test -p {} shows why", day.lab())
}

fn run_one(
    root: &Path,
    day: &'static Day,
    exe: &Path,
    env: &[(&'static str, &'static str)],
) -> Outcome {
    let started = Instant::now();
    let output = Command::new(exe)
        .current_dir(root.join(day.lab_dir()))
        .args(["--color", "never", "--test-threads", "1"])
        .env("RUST_BACKTRACE", "0")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output();
    let elapsed = started.elapsed();
    let (verdict, log) = match output {
        Err(e) => (
            Verdict::NotYet(Some(format!("cannot run its self-check: {e}"))),
            String::new(),
        ),
        Ok(output) => {
            let log = String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr);
            let verdict = if output.status.success() {
                Verdict::Fixed
            } else {
                Verdict::NotYet(symptom(&log))
            };
            (verdict, log)
        }
    };
    Outcome {
        day,
        verdict,
        elapsed,
        log,
    }
}

/// The text after `symptom: ` in a failing self-check's report.
pub fn symptom(log: &str) -> Option<String> {
    log.lines()
        .find_map(|l| l.trim().strip_prefix("symptom: "))
        .map(|s| s.trim().to_string())
}
