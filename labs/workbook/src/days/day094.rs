//! Day 094, a deadlock: two workers move items between two stocks, each
//! under both stocks' locks, and must all finish. A watchdog beside them
//! notices when no move completes for a while, writes a thread dump in
//! Go's `debug=2` form and ends the process, so a deadlocked run never
//! hangs its test.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::service::Launch;
use crate::verdict::Failure;
use labkit::goroutine::Goroutines;

pub const DAY: &str = crate::registry::module_day(module_path!());
/// What the lab as shipped fails with, from its registry entry.
const SYMPTOM: &str = crate::registry::symptom(DAY);
/// The question a red self-check asks: where to look, never the fix.
const FIRST_HINT: &str = crate::registry::first_hint(DAY);

/// Moves each worker makes; each stock starts with this many items, so
/// neither can run dry whatever the interleaving.
pub const MOVES: u64 = 10_000;

/// The files a run writes: what it did, and every thread's stack in Go's
/// `debug=2` form (at the deadlock, or at the end).
pub const RUN_FILE: &str = "run.txt";
pub const DUMP_FILE: &str = "goroutines.txt";

// ANCHOR: stall
/// How long the watchdog lets the move counter stand still before it
/// calls the run deadlocked. A move is a few microseconds of work under
/// two locks: two seconds without one is not a slow machine, it is a
/// machine where no move can complete. The constant comes from the
/// workload, not from a timing measured here.
pub const STALL: Duration = Duration::from_secs(2);
/// How often the watchdog looks at the counter.
const LOOK_EVERY: Duration = Duration::from_millis(100);
// ANCHOR_END: stall

/// A safety net for the check itself: the watchdog ends a deadlocked run
/// after [`STALL`], and a correct one finishes in well under a second.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// What a run did, as `run.txt` holds it (`key value`, one a line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub planned: u64,
    pub done: u64,
    /// Set when the watchdog fired: how long no move had completed.
    pub stalled: Option<Duration>,
    /// The stocks at the end; unknown after a deadlock (their locks are
    /// held forever).
    pub stocks: Option<(u64, u64)>,
}

impl Run {
    pub fn save(&self, dir: &Path) -> Result<(), labkit::Error> {
        let mut text = format!("planned {}\ndone {}\n", self.planned, self.done);
        if let Some(stalled) = self.stalled {
            text.push_str(&format!("stalled_ms {}\n", stalled.as_millis()));
        }
        if let Some((warehouse, shop)) = self.stocks {
            text.push_str(&format!("warehouse {warehouse}\nshop {shop}\n"));
        }
        labkit::atomic::write_bytes(&dir.join(RUN_FILE), text.as_bytes())
    }

    pub fn load(dir: &Path) -> Result<Run, String> {
        let path = dir.join(RUN_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let value = |key: &str| -> Option<u64> {
            text.lines().find_map(|l| {
                let (k, v) = l.split_once(' ')?;
                (k == key).then(|| v.trim().parse().ok()).flatten()
            })
        };
        let bad = || format!("{} is not what the program writes", path.display());
        let stocks = match (value("warehouse"), value("shop")) {
            (Some(w), Some(s)) => Some((w, s)),
            _ => None,
        };
        Ok(Run {
            planned: value("planned").ok_or_else(bad)?,
            done: value("done").ok_or_else(bad)?,
            stalled: value("stalled_ms").map(Duration::from_millis),
            stocks,
        })
    }
}

/// Writes every thread's stack, as Go's `debug=2` goroutine dump, into
/// `dir/goroutines.txt`.
pub fn save_dump(dir: &Path) -> Result<(), labkit::Error> {
    let dump = Goroutines::of_threads(labkit::thread_dump::ANSWER_WITHIN)?;
    labkit::atomic::write_bytes(&dir.join(DUMP_FILE), dump.debug2().as_bytes())
}

// ANCHOR: watchdog
/// Watches `progress` (moves completed) on a thread of its own until
/// `finished` is set. If the counter stands still for [`STALL`], it
/// writes a thread dump and what the run did, prints the verdict and
/// ends the process: deadlocked threads can never be joined.
pub fn watchdog(
    progress: &'static AtomicU64,
    finished: &'static AtomicBool,
    planned: u64,
    dir: PathBuf,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || {
            let (mut seen, mut since) = (progress.load(Ordering::Relaxed), Instant::now());
            while !finished.load(Ordering::Acquire) {
                std::thread::sleep(LOOK_EVERY);
                let now = progress.load(Ordering::Relaxed);
                if now != seen {
                    (seen, since) = (now, Instant::now());
                } else if since.elapsed() >= STALL {
                    let run = Run {
                        planned,
                        done: now,
                        stalled: Some(since.elapsed()),
                        stocks: None,
                    };
                    let saved = save_dump(&dir).and_then(|()| run.save(&dir));
                    if let Err(e) = saved {
                        eprintln!("the watchdog could not write its evidence: {e}");
                    }
                    report(&dir);
                    std::process::exit(1);
                }
            }
        })
        .expect("cannot start the watchdog thread")
}
// ANCHOR_END: watchdog

/// A thread the dump found waiting on a lock, and where in our code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiter {
    pub thread: String,
    pub function: String,
    pub at: String,
}

/// The threads of a `debug=2` dump in the state `sync.Mutex.Lock`, each
/// with its innermost frame of the day's own code (the lab's or the
/// solution's crate).
pub fn lock_waiters(dump: &str) -> Vec<Waiter> {
    let mut waiters = Vec::new();
    for entry in dump.split("\n\n") {
        let mut lines = entry.lines();
        let Some(header) = lines.next() else { continue };
        let Some(inside) = header
            .strip_prefix("goroutine ")
            .and_then(|h| h.split_once(" ["))
            .and_then(|(_, rest)| rest.strip_suffix("]:"))
        else {
            continue;
        };
        let Some(("sync.Mutex.Lock", who)) = inside.split_once(", ") else {
            continue;
        };
        let thread = who.strip_prefix("thread ").unwrap_or(who).to_string();
        let frames: Vec<&str> = lines.collect();
        let own = frames
            .chunks(2)
            .find(|pair| pair[0].contains(&format!("_{DAY}::")) && pair[0].ends_with("(...)"));
        let (function, at) = match own {
            Some([function, at]) => (
                function.trim_end_matches("(...)").to_string(),
                short_path(at.trim().split(" +").next().unwrap_or_default()),
            ),
            _ => ("?".to_string(), "?".to_string()),
        };
        waiters.push(Waiter {
            thread,
            function,
            at,
        });
    }
    waiters
}

/// Where the learner finds the dump: this run's, when it wrote where
/// `cargo run` does; else (a self-check's scratch directory, gone when the
/// check ends) where `cargo run` writes one.
fn where_dump(dir: &Path) -> String {
    let day = crate::Day::get(DAY).expect("Day 094 is in the registry");
    let default = day.default_out();
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same(dir, &default) {
        format!("the dump is {}", labkit::out::display(&dir.join(DUMP_FILE)))
    } else {
        format!(
            "`cargo run -p {}` writes the dump to {}",
            day.lab(),
            labkit::out::display(&default.join(DUMP_FILE))
        )
    }
}

/// `labs/…` or `solutions/…` of an absolute path in the workspace.
fn short_path(path: &str) -> String {
    ["/labs/", "/solutions/"]
        .iter()
        .find_map(|dir| path.rfind(dir).map(|i| path[i + 1..].to_string()))
        .unwrap_or_else(|| path.to_string())
}

/// What a complete run shows.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub run: Run,
    pub waiting_at_end: usize,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (warehouse, shop) = self.run.stocks.unwrap_or_default();
        writeln!(
            f,
            "restock and returns, {MOVES} moves each, under both stocks' locks"
        )?;
        writeln!(
            f,
            "moves completed: {} of {}",
            self.run.done, self.run.planned
        )?;
        writeln!(
            f,
            "items: warehouse {warehouse} + shop {shop} = {} (as many as at the start)",
            warehouse + shop
        )?;
        writeln!(
            f,
            "threads waiting on a lock in the final dump: {}",
            self.waiting_at_end
        )?;
        writeln!(f, "watchdog: never fired")
    }
}

/// Reads what a run wrote into `dir` and judges it.
pub fn judge(dir: &Path) -> Result<Outcome, Failure> {
    let fail = |symptom: String, hint: &'static str| Failure {
        day: DAY,
        symptom,
        hint,
    };
    let rerun = "run the program again and read what it printed when it stopped";
    let run = Run::load(dir).map_err(|e| fail(e, rerun))?;
    let dump_path = dir.join(DUMP_FILE);
    let dump = std::fs::read_to_string(&dump_path)
        .map_err(|e| fail(format!("cannot read {}: {e}", dump_path.display()), rerun))?;
    let waiters = lock_waiters(&dump);
    if let Some(stalled) = run.stalled {
        let threads = if waiters.is_empty() {
            "no thread of the dump is in sync.Mutex.Lock".to_string()
        } else {
            let each: Vec<String> = waiters
                .iter()
                .map(|w| format!("{} in {} at {}", w.thread, w.function, w.at))
                .collect();
            format!(
                "{} threads in sync.Mutex.Lock: {}",
                waiters.len(),
                each.join("; ")
            )
        };
        return Err(fail(
            format!(
                "{SYMPTOM}: none for {} s, after {} of {} moves; {threads}; {}",
                stalled.as_secs(),
                run.done,
                run.planned,
                where_dump(dir)
            ),
            FIRST_HINT,
        ));
    }
    let Some((warehouse, shop)) = run.stocks else {
        return Err(fail(format!("{RUN_FILE} holds no stocks"), rerun));
    };
    if run.done != run.planned || run.planned != 2 * MOVES {
        return Err(fail(
            format!("{} of {} moves completed", run.done, 2 * MOVES),
            "let both workers make all their moves before the program ends",
        ));
    }
    if warehouse + shop != 2 * MOVES {
        return Err(fail(
            format!(
                "the stocks hold {} items, not the {} they started with",
                warehouse + shop,
                2 * MOVES
            ),
            "a move takes an item from one stock and adds it to the other, both under their locks",
        ));
    }
    if !waiters.is_empty() {
        return Err(fail(
            format!(
                "{} threads still wait on a lock in the final dump",
                waiters.len()
            ),
            "the final dump is taken after the workers are joined: what else takes a lock?",
        ));
    }
    Ok(Outcome {
        run,
        waiting_at_end: waiters.len(),
    })
}

/// Runs the program (`exe --out dir`) as a child process, waits for it
/// to end (its watchdog ends a deadlocked run), and judges what it wrote.
pub fn check(launch: Launch, exe: &Path, dir: &Path) -> Result<Outcome, Failure> {
    let mut child = launch(exe, dir, &[]).map_err(|e| Failure {
        day: DAY,
        symptom: e,
        hint: "build the program (`cargo build`) and run the check again",
    })?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.exited() {
            break status;
        }
        if started.elapsed() > RUN_TIMEOUT {
            return Err(Failure {
                day: DAY,
                symptom: format!(
                    "the program was still running after {} s and its watchdog never fired",
                    RUN_TIMEOUT.as_secs()
                ),
                hint: "is the watchdog still started, before the workers are joined?",
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let outcome = judge(dir)?;
    if !status.success() {
        return Err(Failure {
            day: DAY,
            symptom: format!("the program's checks passed, but it exited with {status}"),
            hint: "run the program and read what it printed when it stopped",
        });
    }
    Ok(outcome)
}

/// Judges what a run wrote into `dir` and prints the closing lines.
pub fn report(dir: &Path) {
    crate::verdict::report(&[dir.join(DUMP_FILE), dir.join(RUN_FILE)], &judge(dir));
}
