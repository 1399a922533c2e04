//! What the scopes do when their file cannot be written, or when the run
//! is killed before they finish.
//!
//! Each scope (CPU, heap, trace) saves its file when dropped, and a
//! destructor cannot return an error. So each case runs a real process:
//! this test binary runs itself as a child ([`child`] does the work when
//! `LABKIT_SCOPE` is set), once freely to leave a good file, then under
//! `ulimit -f 0` (every write fails with "File too large"; `SIGXFSZ`
//! ignored so the write returns the error instead of killing the process).
//! The run must exit 1 and say why, without a panic, and leave the good
//! file exactly as it was, with no temporary file beside it.

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use labkit::capture::ProfileScope;
use labkit::heap::HeapScope;
use labkit::trace::TraceScope;

// dhat sees allocations through the global allocator.
#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// The child's side: `LABKIT_SCOPE` names the scope, `LABKIT_DIR` where
/// it writes. Without them this test does nothing.
#[test]
fn child() {
    let (Ok(scope), Ok(dir)) = (std::env::var("LABKIT_SCOPE"), std::env::var("LABKIT_DIR")) else {
        return;
    };
    let dir = Path::new(&dir);
    match scope.as_str() {
        "cpu" => {
            let _profile = ProfileScope::start(dir).unwrap();
            // Samples, not a loop count: 200 units (28 ms here) gave an
            // empty profile now and then, and a flame graph too small for
            // the test's "room for one file, not both".
            for _ in labkit::capture::until_sampled(1, 20) {
                std::hint::black_box(labkit::work::burn(10, 7));
            }
        }
        "heap" => {
            let _heap = HeapScope::start(dir).unwrap();
            let kept: Vec<Vec<u8>> = (0..100).map(|i| vec![i as u8; 4096]).collect();
            std::hint::black_box(kept);
        }
        "trace" => {
            let _trace = TraceScope::start(dir).unwrap();
        }
        "trace-forever" => {
            let _trace = TraceScope::start(dir).unwrap();
            println!("started");
            // Lives until the test that started it closes our stdin (or
            // dies, which closes it too): never longer than that test.
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        }
        other => panic!("no scope called {other}"),
    }
    println!("scope dropped");
}

/// Runs [`child`] for `scope` into `dir`, with `limit` as `ulimit -f`.
fn run(scope: &str, dir: &Path, limit: Option<u32>) -> Output {
    let exe = std::env::current_exe().unwrap();
    let ulimit = limit.map_or(String::new(), |n| format!("ulimit -f {n}; "));
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; {ulimit}exec \"$0\" --exact child --nocapture --test-threads 1"
        ))
        .arg(exe)
        .env("LABKIT_SCOPE", scope)
        .env("LABKIT_DIR", dir)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap()
}

fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn names(files: &[(String, Vec<u8>)]) -> Vec<&str> {
    files.iter().map(|(n, _)| n.as_str()).collect()
}

/// A good run, then a run whose writes all fail: the second exits 1 with
/// `what was not saved` and `why`, and every file of the first is still
/// there. Returns the directory and what it holds.
fn a_failed_write_keeps_the_old_files(
    scope: &str,
    what: &str,
    why: &str,
    expected: &[&str],
) -> (tempfile::TempDir, Vec<(String, Vec<u8>)>) {
    let dir = tempfile::tempdir().unwrap();
    let good = run(scope, dir.path(), None);
    assert!(good.status.success(), "{good:?}");
    let before = listing(dir.path());
    assert_eq!(names(&before), expected);
    a_run_fails_and_keeps(scope, what, why, dir.path(), 0, &before);
    (dir, before)
}

/// A run under `ulimit -f blocks` (of 512 bytes) exits 1, says `what` was
/// not saved and `why`, and leaves the directory as `before`.
fn a_run_fails_and_keeps(
    scope: &str,
    what: &str,
    why: &str,
    dir: &Path,
    blocks: u32,
    before: &[(String, Vec<u8>)],
) {
    let failed = run(scope, dir, Some(blocks));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("labkit: {what} was not saved:")),
        "{stderr}"
    );
    assert!(stderr.contains(why), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(listing(dir), before, "the good files were replaced");
}

#[test]
fn a_cpu_profile_that_cannot_be_written_keeps_both_old_files_and_exits_1() {
    let (dir, before) = a_failed_write_keeps_the_old_files(
        "cpu",
        "the CPU profile",
        "File too large",
        &["cpu.pb.gz", "cpu.svg"],
    );
    // Room for the small cpu.pb.gz but not for the flame graph: the new
    // profile must not end up beside the old picture. The second run's
    // files are not the first's: on a busy machine its samples land on
    // more stacks and addresses, and both files grow. A fixed multiple of
    // the profile's size once came out above the picture's (3,075 and
    // 24,878 bytes under load), so the room sits at the geometric mean of
    // the two: as far in ratio from either, about 2.8 times each here.
    let (pprof, svg) = (before[0].1.len(), before[1].1.len());
    assert!(
        svg >= 4 * pprof,
        "{pprof} and {svg} bytes: too close to tell apart"
    );
    let room = ((pprof as f64) * (svg as f64)).sqrt() as usize;
    let blocks = room.div_ceil(512);
    a_run_fails_and_keeps(
        "cpu",
        "the CPU profile",
        "cpu.svg: File too large",
        dir.path(),
        blocks as u32,
        &before,
    );
}

#[test]
fn a_heap_profile_that_cannot_be_written_keeps_the_old_file_and_exits_1() {
    // dhat writes through a `BufWriter` it drops without checking the
    // flush: it even says the data "has been saved". Only reading the file
    // back tells.
    a_failed_write_keeps_the_old_files(
        "heap",
        "the heap profile",
        "dhat did not write a whole profile",
        &["dhat-heap.json"],
    );
}

#[test]
fn a_trace_that_cannot_be_written_keeps_the_old_file_and_exits_1() {
    a_failed_write_keeps_the_old_files("trace", "the trace", "File too large", &["trace.json"]);
}

/// `TraceScope` creates its temporary file when it starts, so a run killed
/// at any moment leaves one; the next run's `prepare_dir` removes it.
#[test]
fn a_killed_run_leaves_a_temp_file_that_the_next_run_removes() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let child = Command::new(exe)
        .args(["--exact", "child", "--nocapture", "--test-threads", "1"])
        .env("LABKIT_SCOPE", "trace-forever")
        .env("LABKIT_DIR", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Killed when this test ends, however it ends (a failed assert below
    // included); and if this process dies, the child's stdin closes.
    struct KillOnDrop(std::process::Child);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = KillOnDrop(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    let temp = loop {
        let files = listing(dir.path());
        if let Some((name, _)) = files.first() {
            break name.clone();
        }
        assert!(
            Instant::now() < deadline,
            "the child never started its trace"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(temp.starts_with(".trace.json.tmp-"), "{temp}");
    // SIGKILL: no destructor runs.
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    assert_eq!(names(&listing(dir.path())), [temp.as_str()]);

    labkit::out::prepare_dir(dir.path()).unwrap();
    assert_eq!(listing(dir.path()), []);
}
