//! `selfcheck`: the test harness of the workbook, for `tests/` only.
//!
//! Labs and solutions take it as a **dev-dependency**: the programs never
//! link it, only their tests do. It holds what a test needs to judge a
//! program from outside:
//!
//! - [`lab!`]: a lab's whole self-check, from the registry entry of the
//!   package under test;
//! - [`run_once`], [`run_program`], [`one_at_a_time`]: run a program into
//!   a scratch directory, once per test process, one measurement at a time;
//! - [`RunningService`] and [`launch`]: a service as a child process,
//!   stopped when dropped, for the checks of Days 088 and 089;
//! - [`scratch`]: a scratch directory removed even when the test fails;
//! - [`snapshot_body`], [`assert_book_shows_snapshot`]: the solution's
//!   snapshot, and the pages that must show it;
//! - [`go_pprof_top`], [`go_pprof_lists`]: `go tool pprof`, the
//!   independent reader of every profile;
//! - [`OrFail`]: a failing check ends the test with its symptom, hint and
//!   page, and nothing else.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;
use workbook::service::Service;
use workbook::{Check, Day, Failure};

/// Ends the current test with `failure`, the way a teacher would say it:
/// the symptom, the hint and the page, alone, with no panic location and
/// no backtrace, even when `RUST_BACKTRACE=1` is set (many shells and IDEs
/// set it). `cargo test` still counts the test as failed and prints its
/// own summary.
pub fn fail(failure: Failure) -> ! {
    quiet_failures();
    std::panic::panic_any(failure)
}

/// `check(..).or_fail()`: the value of a passing check, or the test fails
/// with [`fail`].
pub trait OrFail<T> {
    fn or_fail(self) -> T;
}

impl<T> OrFail<T> for Result<T, Failure> {
    fn or_fail(self) -> T {
        self.unwrap_or_else(|failure| fail(failure))
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

/// The path of the package's own program, as cargo built it for its tests.
#[macro_export]
macro_rules! program {
    () => {
        env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME")))
    };
}

/// A lab's whole self-check, in its `tests/self_check.rs`:
/// `selfcheck::lab!()`. The day comes from the package's name.
#[macro_export]
macro_rules! lab {
    () => {
        $crate::self_check(
            $crate::workbook::this_day!(),
            ::std::path::Path::new($crate::program!()),
        )
    };
}

#[doc(hidden)]
pub use workbook;

/// A lab's self-check, whole: runs the lab (or starts its service) into a
/// scratch directory, applies the day's check (a failure ends the test
/// with its symptom, hint and page), and compares the summary with the
/// solution's snapshot, so lab and solution can never drift apart.
pub fn self_check(day: &Day, exe: &Path) {
    let dir = scratch();
    let summary = match day.check {
        Check::Files { check, .. } => {
            {
                let _machine = one_at_a_time();
                run_program(exe, dir.path()).unwrap_or_else(|e| panic!("{e}"));
            }
            check(dir.path())
        }
        Check::Service(check) => check(launch, exe, dir.path()),
    }
    .or_fail();
    if !day.lab_matches_solution {
        println!("{summary}");
        return;
    }
    let snapshot = day.snapshot();
    let expected =
        snapshot_body(&workbook::root().join(&snapshot)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        summary,
        expected,
        "the lab passes its check now, but its summary is not the solution's ({})",
        snapshot.display()
    );
}

/// A solution's proof that its verdict does not depend on the machine:
/// `selfcheck::passes_on_emulated_machines!()` runs the package's program
/// on [`workbook::machines::FAST_AT_100_HZ`] (a machine ten times faster,
/// its kernel ticking at 100 Hz: both emulations at once), applies the
/// day's check, and requires the snapshot's very summary.
#[macro_export]
macro_rules! passes_on_emulated_machines {
    () => {
        $crate::passes_on_emulated_machines(
            $crate::workbook::this_day!(),
            ::std::path::Path::new($crate::program!()),
        )
    };
}

/// See [`passes_on_emulated_machines!`].
pub fn passes_on_emulated_machines(day: &Day, exe: &Path) {
    let Check::Files { check, .. } = day.check else {
        panic!(
            "Day {}'s check drives a service; emulated machines are for programs that run to their end",
            day.id
        );
    };
    let expected =
        snapshot_body(&workbook::root().join(day.snapshot())).unwrap_or_else(|e| panic!("{e}"));
    let machine = &workbook::machines::FAST_AT_100_HZ;
    let dir = scratch();
    {
        let _machine = one_at_a_time();
        run_program_with(exe, dir.path(), machine.env)
            .unwrap_or_else(|e| panic!("on {} ({:?}): {e}", machine.name, machine.env));
    }
    match check(dir.path()) {
        Ok(summary) => assert_eq!(
            summary, expected,
            "on {} ({:?}) the solution passes, but its summary is not the snapshot's",
            machine.name, machine.env
        ),
        Err(failure) => panic!(
            "on {} ({:?}) the solution fails its check:\n{failure}",
            machine.name, machine.env
        ),
    }
}

/// Runs a lab or solution binary with `--out dir` and returns its standard
/// output. A program that cannot start, crashes or exits non-zero is an
/// error that says so and shows what it printed.
pub fn run_program(exe: &Path, dir: &Path) -> Result<String, String> {
    run_program_with(exe, dir, &[])
}

/// [`run_program`], with `env` added to the program's environment.
pub fn run_program_with(exe: &Path, dir: &Path, env: &[(&str, &str)]) -> Result<String, String> {
    let output = Command::new(exe)
        .arg("--out")
        .arg(dir)
        .envs(env.iter().copied())
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

/// Runs the package's program once per test process and returns the
/// directory it wrote; later calls reuse the run. One run shared by a
/// solution's tests keeps them from running the program twice at once and
/// profiling each other's noise.
///
/// The directory is `target/tmp/<package>` (replaced at each run), not a
/// self-deleting one: the run outlives every test that reads it, and a
/// `static` is never dropped, so a fixed name is what keeps one copy, not
/// one per run. After a failure, it holds what the program wrote.
#[macro_export]
macro_rules! run_once {
    () => {
        $crate::run_once(
            ::std::path::Path::new($crate::program!()),
            ::std::path::Path::new(env!("CARGO_TARGET_TMPDIR")),
            env!("CARGO_PKG_NAME"),
        )
    };
}

/// See [`run_once!`]: runs `exe` into a fresh `base/name` once per process.
pub fn run_once(exe: &Path, base: &Path, name: &str) -> PathBuf {
    static RUNS: parking_lot::Mutex<Vec<(String, PathBuf)>> = parking_lot::const_mutex(Vec::new());
    let mut runs = RUNS.lock();
    if let Some((_, dir)) = runs.iter().find(|(n, _)| n == name) {
        return dir.clone();
    }
    let dir = base.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create scratch directory {}: {e}", dir.display()));
    let _machine = one_at_a_time();
    run_program(exe, &dir).unwrap_or_else(|e| panic!("{e}"));
    runs.push((name.to_string(), dir.clone()));
    dir
}

/// A scratch directory for one test, removed when the test ends, even when
/// it fails (the handle is dropped as the panic unwinds).
pub fn scratch() -> TempDir {
    tempfile::Builder::new()
        .prefix("workbook-")
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a scratch directory: {e}"))
}

/// A service a check started as a child process (`exe --out DIR args…`,
/// stdout piped). Dropping it stops the service — SIGTERM, then a kill
/// after 5 s — so no check leaves a process behind. And should the test
/// itself be killed before it can drop it, the service still stops: its
/// stdin is a pipe this process holds, and it ends when that closes
/// ([`workbook::service::STOP_WITH_STDIN`]).
pub struct RunningService(pub std::process::Child);

/// Starts a service for a day's check: [`workbook::service::Launch`].
pub fn launch(exe: &Path, dir: &Path, args: &[&str]) -> Result<Box<dyn Service>, String> {
    RunningService::start(exe, dir, args).map(|s| Box::new(s) as Box<dyn Service>)
}

impl RunningService {
    pub fn start(exe: &Path, dir: &Path, args: &[&str]) -> Result<RunningService, String> {
        Command::new(exe)
            .arg("--out")
            .arg(dir)
            .args(args)
            .env(workbook::service::STOP_WITH_STDIN, "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .map(RunningService)
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))
    }
}

impl Service for RunningService {
    /// The first line the service printed (where it listens). The rest of
    /// its output is drained on a thread of its own: a service whose
    /// stdout pipe is closed would die of SIGPIPE at its next `println!`.
    fn first_line(&mut self) -> Result<String, String> {
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
    fn signal(&self, name: &str) -> std::io::Result<()> {
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

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.0.try_wait().ok().flatten()
    }

    fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for RunningService {
    fn drop(&mut self) {
        // A service that is gone before the check is done with it is the
        // likely cause of whatever the check saw fail: say how it ended.
        if let Ok(Some(status)) = self.0.try_wait() {
            eprintln!(
                "the service (pid {}) had already exited: {status}",
                self.0.id()
            );
            return;
        }
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

/// Asserts that the day's page, and each of `more_pages`, shows the
/// solution's snapshot in a ```text block, so the page and the test can
/// never disagree. Pages are relative to the workspace root.
pub fn assert_book_shows_snapshot(day: &Day, more_pages: &[&str]) {
    let root = workbook::root();
    let snapshot = day.snapshot();
    let snapshot = snapshot.display();
    let body = snapshot_body(&root.join(day.snapshot())).unwrap_or_else(|e| panic!("{e}"));
    let page = day.page();
    let pages = std::iter::once(page.as_str()).chain(more_pages.iter().copied());
    for page in pages {
        let text = std::fs::read_to_string(root.join(page))
            .unwrap_or_else(|e| panic!("cannot read {page}: {e}"));
        assert!(
            text.contains(&format!("```text\n{body}```")),
            "{page} does not show the summary in {snapshot}:\n{body}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_bodies_lose_their_header() {
        let dir = scratch();
        let path = dir.path().join("x.snap");
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
    }

    #[test]
    fn every_day_has_its_snapshot() {
        for day in workbook::DAYS {
            snapshot_body(&workbook::root().join(day.snapshot())).unwrap();
        }
    }
}
