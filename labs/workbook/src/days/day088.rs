//! Day 088, dumps on demand: SIGQUIT must make the running service write a
//! task dump and keep serving.

use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};

use std::time::{Duration, Instant};

use crate::service::Launch;
use crate::verdict::Failure;
use labkit::tasks::{self, TaskDump};

pub const DAY: &str = crate::registry::module_day(module_path!());
/// What the lab as shipped fails with, from its registry entry.
const SYMPTOM: &str = crate::registry::symptom(DAY);
/// The question a red self-check asks: where to look, never the fix.
const FIRST_HINT: &str = crate::registry::first_hint(DAY);
pub const SERVICE: &str = "echo";

/// What a SIGQUIT did to the service.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub dump_file: PathBuf,
    pub dump: TaskDump,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "after SIGQUIT: a task dump was written, and the service still answers"
        )?;
        writeln!(
            f,
            "task-dump-{SERVICE}-<unix time>-<pid>-<n>.txt, tasks by innermost own frame:"
        )?;
        for ((frame, kind), n) in self.dump.groups() {
            writeln!(f, "  {n:>3}  {frame} ({kind})")?;
        }
        Ok(())
    }
}

fn fail(symptom: String, hint: &'static str) -> Failure {
    Failure {
        day: DAY,
        symptom,
        hint,
    }
}

fn dump_files(dir: &Path) -> Vec<PathBuf> {
    let prefix = format!("task-dump-{SERVICE}-");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".txt"))
        })
        .collect();
    files.sort();
    files
}

/// Starts the service `exe` writing into `dir` (with `launch`, from the
/// test harness), sends it SIGQUIT, and checks that it wrote a dump and
/// still answers.
pub fn check(launch: Launch, exe: &Path, dir: &Path) -> Result<Outcome, Failure> {
    let rerun = "run the service by hand, send it `kill -QUIT <pid>`, and watch what it prints";
    let mut service = launch(exe, dir, &[]).map_err(|e| fail(e, rerun))?;
    let first = service.first_line().map_err(|e| fail(e, rerun))?;
    let addr = first
        .split_whitespace()
        .find(|w| w.starts_with("127.0.0.1:"))
        .ok_or_else(|| {
            fail(
                format!("the service did not say where it listens: {first:?}"),
                rerun,
            )
        })?
        .to_string();

    service
        .signal("QUIT")
        .map_err(|e| fail(format!("cannot send SIGQUIT: {e}"), rerun))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let dump_file = loop {
        if let Some(file) = dump_files(dir).pop() {
            break file;
        }
        if let Some(status) = service.exited() {
            return Err(fail(
                format!("{SYMPTOM} ({status}) and left no task dump"),
                FIRST_HINT,
            ));
        }
        if Instant::now() > deadline {
            if quit_is_ignored_here() {
                return Err(fail(
                    "the service ignored SIGQUIT: this check was started with SIGQUIT ignored \
                     (a shell's background job), and the service inherited that"
                        .into(),
                    "run the self-check in the foreground (`cargo test -p lab-088`, not in a \
                     script's `&` job): a program that installs its own handler is not affected",
                ));
            }
            return Err(fail(
                "the service survived SIGQUIT but wrote no task dump within 10 s".into(),
                "the signal task should call labkit::tasks::dump and save it in the --out directory",
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };

    let answer = (|| -> std::io::Result<String> {
        let mut stream = TcpStream::connect(&addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.write_all(b"ping\n")?;
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line)?;
        Ok(line)
    })();
    if answer.as_ref().map(|a| a.trim() == "ping").ok() != Some(true) {
        return Err(fail(
            format!("after the dump the service does not answer on {addr}: {answer:?}"),
            "the signal task must write the dump and go back to waiting, not stop the service",
        ));
    }
    let dump = tasks::load(&dump_file).map_err(|e| fail(e, rerun))?;
    drop(service);
    Ok(Outcome { dump_file, dump })
}

/// Whether this process has SIGQUIT ignored. A non-interactive shell starts
/// its background jobs with SIGINT and SIGQUIT ignored, and an ignored
/// signal stays ignored across `exec`: a service started from such a job
/// survives SIGQUIT unless it installs a handler, which would make a lab
/// that merely dies on SIGQUIT look like one that survived it.
fn quit_is_ignored_here() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (3 - 1)) != 0)
}
