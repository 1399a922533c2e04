//! Runs the labs' self-checks the way a learner would (`cargo test -p
//! lab-NNN`), but built in one cargo invocation and run in parallel,
//! bounded by the cores, with a progress bar for each phase (a first
//! build compiles a few hundred crates for minutes).

use std::collections::{BTreeSet, VecDeque};
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

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
    // Every lab is built, whichever run: building a subset would unify
    // other features (no service among them, say), rebuild labkit and
    // its dependents, and rebuild them again for the next full run.
    let every: Vec<&'static Day> = workbook::DAYS.iter().collect();
    let (executables, build_log) = build(&root, &every);
    let mut queue: Vec<&'static Day> = days.to_vec();
    queue.sort_by_key(|d| !matches!(d.check, Check::Service(_)));
    let queue = Mutex::new(VecDeque::from(queue));
    let results = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let bar = Bar::new(
        days.len() as u64,
        &format!("running the self-checks, {workers} at a time"),
    );
    let running = Mutex::new(BTreeSet::new());
    std::thread::scope(|s| {
        for _ in 0..workers.min(days.len()) {
            s.spawn(|| {
                loop {
                    let Some(day) = queue.lock().unwrap().pop_front() else {
                        return;
                    };
                    let now = {
                        let mut running = running.lock().unwrap();
                        running.insert(day.lab());
                        running.iter().cloned().collect::<Vec<_>>().join(", ")
                    };
                    bar.doing(&now);
                    let outcome = match executables.iter().find(|(id, _)| *id == day.id) {
                        Some((_, exe)) => run_one(&root, day, exe, env),
                        None => Outcome {
                            day,
                            verdict: Verdict::DoesNotBuild(compile_error(&build_log, day)),
                            elapsed: Duration::ZERO,
                            log: build_log.clone(),
                        },
                    };
                    running.lock().unwrap().remove(&day.lab());
                    bar.done(&format!(
                        "{}: {:.1} s",
                        day.lab(),
                        outcome.elapsed.as_secs_f64()
                    ));
                    results.lock().unwrap().push(outcome);
                }
            });
        }
    });
    bar.finish();
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
    let bar = Bar::new(crates_to_build(root, days), "building the labs");
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return (Vec::new(), format!("cannot run cargo: {e}")),
    };
    // cargo's diagnostics go to stderr; read them on a thread, so that
    // neither pipe fills while the other is read.
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let log = std::thread::spawn(move || {
        let mut log = String::new();
        let _ = stderr.read_to_string(&mut log);
        log
    });
    // A lab counts as built only when both its program and its self-check
    // were: a self-check whose program failed to compile would run the
    // previous build's program and report on stale code.
    let mut tests = Vec::new();
    let mut programs = Vec::new();
    let mut built = BTreeSet::new();
    let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    for line in stdout.lines().map_while(Result::ok) {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact"
            && let Some(id) = message["package_id"].as_str()
            && built.insert(id.to_string())
        {
            let name = message["target"]["name"].as_str().unwrap_or("");
            bar.done(name);
        }
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
    let _ = child.wait();
    bar.finish();
    let executables = tests
        .into_iter()
        .filter(|(id, _)| programs.contains(id))
        .collect();
    (executables, log.join().unwrap_or_default())
}

/// How many packages building the labs' self-checks compiles: the labs
/// and everything they depend on for this machine (the bar's length; an
/// estimate only, so the bar grows if the build compiles more).
fn crates_to_build(root: &Path, days: &[&'static Day]) -> u64 {
    let host = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-vV")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("host: ").map(String::from))
        });
    let mut command = Command::new(cargo());
    command
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--offline"]);
    if let Some(host) = &host {
        command.args(["--filter-platform", host]);
    }
    let Some(metadata) = command
        .stderr(Stdio::null())
        .output()
        .ok()
        .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
    else {
        return 0;
    };
    let nodes = metadata["resolve"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let name_of = |id: &str| {
        metadata["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["id"] == id)
            .and_then(|p| p["name"].as_str().map(String::from))
    };
    let labs: Vec<String> = days.iter().map(|d| d.lab()).collect();
    let mut todo: Vec<(String, bool)> = nodes
        .iter()
        .filter_map(|n| n["id"].as_str())
        .filter(|id| name_of(id).is_some_and(|name| labs.contains(&name)))
        .map(|id| (id.to_string(), true))
        .collect();
    let mut seen = BTreeSet::new();
    while let Some((id, is_lab)) = todo.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        let Some(node) = nodes.iter().find(|n| n["id"] == id.as_str()) else {
            continue;
        };
        for dep in node["deps"].as_array().into_iter().flatten() {
            // A dependency's own dev-dependencies are never built.
            let needed = dep["dep_kinds"].as_array().into_iter().flatten().any(|k| {
                k["kind"].is_null() || k["kind"] == "build" || (is_lab && k["kind"] == "dev")
            });
            if needed && let Some(pkg) = dep["pkg"].as_str() {
                todo.push((pkg.to_string(), false));
            }
        }
    }
    seen.len() as u64
}

/// A progress bar on a terminal; on a pipe or in a file, a line per
/// finished step, so a log shows what happened and when.
struct Bar {
    bar: Option<ProgressBar>,
    started: Instant,
    phase: String,
    /// Steps done.
    count: std::sync::atomic::AtomicU64,
    len: u64,
}

impl Bar {
    fn new(len: u64, phase: &str) -> Bar {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(len);
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {pos}/{len} {elapsed} {wide_msg}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(phase.to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        if bar.is_none() {
            eprintln!("{phase}…");
        }
        Bar {
            bar,
            started: Instant::now(),
            phase: phase.to_string(),
            count: std::sync::atomic::AtomicU64::new(0),
            len,
        }
    }

    /// Says what is under way.
    fn doing(&self, what: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(what.to_string());
        }
    }

    /// One step done: `what` names it.
    fn done(&self, what: &str) {
        let n = 1 + self
            .count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match &self.bar {
            Some(bar) => {
                if bar.position() + 1 > bar.length().unwrap_or(0) {
                    bar.inc_length(1);
                }
                bar.inc(1);
                bar.set_message(what.to_string());
            }
            None => {
                if self.phase.starts_with("running") {
                    eprintln!("  {what}");
                } else if n.is_multiple_of(25) {
                    eprintln!(
                        "  {n} of about {} crates compiled ({:.0} s)",
                        self.len,
                        self.started.elapsed().as_secs_f64()
                    );
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        eprintln!(
            "{}: {} done in {:.0} s",
            self.phase,
            self.count.load(std::sync::atomic::Ordering::Relaxed),
            self.started.elapsed().as_secs_f64()
        );
    }
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
