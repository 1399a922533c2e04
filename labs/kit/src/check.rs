//! The self-check report: what a failing check prints, and the plumbing a
//! day's test needs to run a lab or solution and read what it wrote.
//!
//! A failing self-check says three things, always in this order: the
//! **symptom** (what is wrong with the profile, in words a learner can
//! check by hand), one **hint**, and the **page** that explains it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

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
        format!("book/day-{}.md", self.day)
    }
}

impl Failure {
    /// Fails the current test with this failure, the way a teacher would
    /// say it: the symptom, the hint and the page, alone, with no panic
    /// location and no backtrace, even when `RUST_BACKTRACE=1` is set (many
    /// shells and IDEs set it). `cargo test` still counts the test as
    /// failed and prints its own summary.
    pub fn fail(self) -> ! {
        quiet_failures();
        std::panic::panic_any(self)
    }
}

/// `check(..).or_fail()`: the value of a passing check, or the test fails
/// with [`Failure::fail`].
pub trait OrFail<T> {
    fn or_fail(self) -> T;
}

impl<T> OrFail<T> for Result<T, Failure> {
    fn or_fail(self) -> T {
        self.unwrap_or_else(|failure| failure.fail())
    }
}

/// Installs, once per process, a panic hook that prints a [`Failure`]
/// payload as plain text and hands every other panic to the hook that was
/// there before, so a real bug still shows where it happened.
fn quiet_failures() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            match info.payload().downcast_ref::<Failure>() {
                Some(failure) => eprintln!("\n{failure}\n"),
                None => previous(info),
            }
        }));
    });
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "day {} self-check: not yet", self.day)?;
        writeln!(f, "  symptom: {}", self.symptom)?;
        writeln!(f, "  hint:    {}", self.hint)?;
        write!(f, "  read:    {} (mdbook serve --open)", self.page())
    }
}

/// Runs a lab or solution binary with `--out dir` and returns its standard
/// output. A program that cannot start, crashes or exits non-zero is an
/// error that says so and shows what it printed.
pub fn run_program(exe: &Path, dir: &Path) -> Result<String, String> {
    let output = Command::new(exe)
        .arg("--out")
        .arg(dir)
        .output()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        return Err(format!(
            "{} exited with {}\n--- stdout\n{stdout}\n--- stderr\n{}",
            exe.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(stdout)
}

/// Keeps the tests of one binary that load the machine (a service under
/// load, a capture, a profiled run) from running at the same time: each
/// holds this guard for as long as it measures. `cargo test` runs a
/// binary's tests on parallel threads, and two profiled programs on two
/// cores would each measure the other's noise.
pub fn one_at_a_time() -> parking_lot::MutexGuard<'static, ()> {
    static MACHINE: parking_lot::Mutex<()> = parking_lot::const_mutex(());
    MACHINE.lock()
}

/// Runs a day's program once per test process, into a fresh `base/name`,
/// and returns that directory; later calls with the same name reuse the
/// run. One run shared by a solution's tests keeps them from running the
/// program twice at once and profiling each other's noise.
pub fn run_once(exe: &str, base: &str, name: &str) -> PathBuf {
    static RUNS: parking_lot::Mutex<Vec<(String, PathBuf)>> = parking_lot::const_mutex(Vec::new());
    let mut runs = RUNS.lock();
    if let Some((_, dir)) = runs.iter().find(|(n, _)| n == name) {
        return dir.clone();
    }
    let dir = fresh_dir(Path::new(base), name);
    let _machine = one_at_a_time();
    run_program(Path::new(exe), &dir).unwrap_or_else(|e| panic!("{e}"));
    runs.push((name.to_string(), dir.clone()));
    dir
}

/// A lab's self-check, whole: runs the lab, applies the day's check (a
/// failure panics with its symptom, hint and page), and compares the
/// summary with the solution's snapshot, so lab and solution can never
/// drift apart.
pub fn self_check<T: fmt::Display>(
    exe: &str,
    base: &str,
    day: &str,
    check: fn(&Path) -> Result<T, Failure>,
    snapshot: &str,
) {
    let dir = run_once(exe, base, &format!("lab-{day}"));
    let summary = check(&dir).or_fail();
    let expected = snapshot_body(&crate::out::workspace_root().join(snapshot))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        summary.to_string(),
        expected,
        "the lab passes its check now, but its summary is not the solution's ({snapshot})"
    );
}

/// A service a check started as a child process (`exe --out DIR args…`,
/// stdout piped). Dropping it stops the service — SIGTERM, then a kill
/// after 5 s — so no check leaves a process behind.
pub struct RunningService(pub std::process::Child);

impl RunningService {
    pub fn start(exe: &Path, dir: &Path, args: &[&str]) -> Result<RunningService, String> {
        Command::new(exe)
            .arg("--out")
            .arg(dir)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .map(RunningService)
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))
    }

    /// The first line the service printed (where it listens). The rest of
    /// its output is drained on a thread of its own: a service whose
    /// stdout pipe is closed would die of SIGPIPE at its next `println!`.
    pub fn first_line(&mut self) -> Result<String, String> {
        use std::io::{BufRead, BufReader};
        let stdout = self
            .0
            .stdout
            .take()
            .ok_or("the service's stdout was already taken")?;
        let mut reader = BufReader::new(stdout);
        let mut first = String::new();
        let read = reader
            .read_line(&mut first)
            .map_err(|e| format!("cannot read the service's first line: {e}"))?;
        if read == 0 {
            let status = self.0.wait().map_or("unknown".into(), |s| s.to_string());
            return Err(format!(
                "the service exited ({status}) before saying where it listens"
            ));
        }
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        Ok(first)
    }

    /// Sends the service a signal by name (`QUIT`, `TERM`) with `kill(1)`.
    pub fn signal(&self, name: &str) -> std::io::Result<()> {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.0.id().to_string())
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(std::io::Error::other(format!(
                "kill -{name} failed: {status}"
            )))
        }
    }
}

impl Drop for RunningService {
    fn drop(&mut self) {
        let _ = self.signal("TERM");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A fresh, empty directory `name` under `base` (removed first if present).
pub fn fresh_dir(base: &Path, name: &str) -> PathBuf {
    let dir = base.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create scratch directory {}: {e}", dir.display()));
    dir
}

/// The body of an insta snapshot file (the text after its `---` header), so
/// a lab's self-check can compare with the solution's snapshot and the two
/// can never drift apart.
pub fn snapshot_body(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read snapshot {}: {e}", path.display()))?;
    let rest = text
        .strip_prefix("---\n")
        .and_then(|t| t.split_once("\n---\n"))
        .map(|(_, body)| body)
        .ok_or_else(|| {
            format!(
                "{} is not an insta snapshot (no --- header)",
                path.display()
            )
        })?;
    Ok(rest.trim_end_matches('\n').to_string() + "\n")
}

/// Loads a CPU profile and summarises it; a file that cannot be read is
/// the day's failure, with the loader's words as the symptom.
pub fn load_cpu_summary(
    day: &'static str,
    path: &Path,
    min_samples: i64,
) -> Result<crate::summary::Summary, Failure> {
    let profile = crate::profile::load(path).map_err(|e| Failure {
        day,
        symptom: format!("cpu profile cannot be read: {e}"),
        hint: "run the program again and read what it printed when it stopped",
    })?;
    Ok(crate::summary::cpu(&profile, min_samples))
}

/// Checks that each `(frame, low, high)` has a share in `low..high`
/// percent; the first that does not is the day's failure.
pub fn expect_shares(
    day: &'static str,
    summary: &crate::summary::Summary,
    expected: &[(&str, f64, f64)],
    hint: &'static str,
) -> Result<(), Failure> {
    for &(name, low, high) in expected {
        let p = summary.percent(name);
        if !(low..high).contains(&p) {
            return Err(Failure {
                day,
                symptom: format!(
                    "the profile does not show the expected split: {name} holds {p:.1}% of \
                     samples, expected {low:.0}–{:.0}%",
                    high.min(100.0)
                ),
                hint,
            });
        }
    }
    Ok(())
}

/// `go tool pprof -top` of `profile`, the independent reader every
/// solution's profile is checked with. `None` (with a note on stderr) when
/// Go is not installed, unless `LABKIT_REQUIRE_GO` is set, as CI sets it;
/// then a missing Go is a failure. A file Go cannot read always panics.
pub fn go_pprof_top(profile: &Path) -> Option<String> {
    let go_present = Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !go_present {
        assert!(
            std::env::var_os("LABKIT_REQUIRE_GO").is_none(),
            "LABKIT_REQUIRE_GO is set but `go` is not on PATH"
        );
        eprintln!("skipped: `go` is not on PATH (install golang-go to run this check)");
        return None;
    }
    let out = Command::new("go")
        .args(["tool", "pprof", "-top", "-nodecount=200"])
        .arg(profile)
        .output()
        .expect("run go tool pprof");
    assert!(
        out.status.success(),
        "go tool pprof cannot read {}:\n{}",
        profile.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// [`go_pprof_top`], then asserts the profile's type (`Type: cpu`, `Type:
/// delay`) and that every function in `names` is listed. Returns the
/// output for further checks; `None` when Go is not installed.
pub fn go_pprof_lists(profile: &Path, ty: &str, names: &[&str]) -> Option<String> {
    let top = go_pprof_top(profile)?;
    assert!(top.contains(&format!("Type: {ty}")), "{top}");
    for name in names {
        assert!(
            top.contains(name),
            "go tool pprof -top does not list {name}:\n{top}"
        );
    }
    Some(top)
}

/// Asserts that each book page shows the snapshot's text in a ```text
/// block, so the page and the test can never disagree. Paths are relative
/// to the workspace root.
pub fn assert_book_shows_snapshot(snapshot: &str, pages: &[&str]) {
    let root = crate::out::workspace_root();
    let body = snapshot_body(&root.join(snapshot)).unwrap_or_else(|e| panic!("{e}"));
    for page in pages {
        let text = std::fs::read_to_string(root.join(page))
            .unwrap_or_else(|e| panic!("cannot read {page}: {e}"));
        assert!(
            text.contains(&format!("```text\n{body}```")),
            "{page} does not show the summary in {snapshot}:\n{body}"
        );
    }
}

/// Prints the closing lines of a run: what it wrote, then either what is
/// wrong and where to read about it, or the summary and what to run next.
pub fn report<T: fmt::Display>(files: &[PathBuf], verdict: &Result<T, Failure>) {
    let wrote = files
        .iter()
        .map(|f| match std::fs::metadata(f) {
            Ok(m) => format!("{} ({} bytes)", crate::out::display(f), m.len()),
            Err(_) => format!("{} (missing)", crate::out::display(f)),
        })
        .collect::<Vec<_>>()
        .join("\n");
    match verdict {
        Err(f) => {
            let read = format!(
                "{} (mdbook serve --open)\nself-check: cargo test -p lab-{}",
                f.page(),
                f.day
            );
            crate::out::closing(&[("wrote", &wrote), ("wrong", &f.symptom), ("read", &read)]);
        }
        Ok(summary) => {
            let mut next = String::new();
            for f in files {
                let shown = crate::out::display(f);
                let name = f.to_string_lossy();
                if name.ends_with(".svg") {
                    next.push_str(&format!("open {shown} in a browser\n"));
                } else if name.ends_with(".pb.gz") {
                    next.push_str(&format!("go tool pprof -top {shown}\n"));
                } else if name.ends_with("dhat-heap.json") {
                    next.push_str(&format!(
                        "load {shown} in dh_view: https://nnethercote.github.io/dh_view/dh_view.html\n"
                    ));
                } else if name.ends_with("trace.json") {
                    next.push_str(&format!("open {shown} in https://ui.perfetto.dev\n"));
                }
            }
            crate::out::closing(&[("wrote", &wrote), ("profile", summary), ("next", &next)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn snapshot_bodies_lose_their_header() {
        let dir = std::env::temp_dir().join(format!("labkit-snap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.snap");
        std::fs::write(
            &path,
            "---\nsource: a.rs\nexpression: s\n---\nline one\nline two\n",
        )
        .unwrap();
        assert_eq!(snapshot_body(&path).unwrap(), "line one\nline two\n");
        std::fs::write(&path, "no header").unwrap();
        assert!(
            snapshot_body(&path)
                .unwrap_err()
                .contains("not an insta snapshot")
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
