//! A thread program that asked for it answers `kill -QUIT` with a
//! goroutine dump of every thread (name, id, state, frames) in a file, and
//! keeps running: two signals, two dumps, then a clean exit.
//!
//! Before, a Rust program died on SIGQUIT, and no OS thread had a dump.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The program under test, run by the test below as a child process: a
/// worker parked on a lock held by main, and main waiting for stdin.
#[test]
fn child() {
    let Some(dir) = std::env::var_os("SIGQUIT_DUMP_DIR") else {
        return;
    };
    labkit::quit_dump::dump_on_sigquit(std::path::Path::new(&dir), "child").unwrap();
    let lock = std::sync::Arc::new(parking_lot::Mutex::new(()));
    let held = lock.lock();
    let worker = {
        let lock = lock.clone();
        std::thread::Builder::new()
            .name("stuck-worker".into())
            .spawn(move || drop(lock.lock()))
            .unwrap()
    };
    println!("ready");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    drop(held);
    worker.join().unwrap();
    println!("done");
}

#[test]
fn sigquit_writes_a_dump_of_every_thread_and_the_program_runs_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads", "1"])
        .env("SIGQUIT_DUMP_DIR", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("ready") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "the child ended");
    }
    let dumps = |n: usize| {
        let started = Instant::now();
        loop {
            let files: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .filter_map(|e| e.ok())
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with("goroutine-dump-child-")
                })
                .map(|e| e.path())
                .collect();
            if files.len() >= n {
                return files;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "{files:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let pid = child.id().to_string();
    // As a learner would send it.
    let quit = || {
        let kill = Command::new("kill").args(["-QUIT", &pid]).status().unwrap();
        assert!(kill.success());
    };
    // Until the worker waits on the lock, its dump may show it starting.
    let started = Instant::now();
    let text = loop {
        quit();
        let files = dumps(1);
        let newest = files.iter().max().unwrap();
        let text = std::fs::read_to_string(newest).unwrap();
        if text.contains("[sync.Mutex.Lock, thread stuck-worker]:") {
            break text;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{text}");
        std::fs::remove_file(newest).unwrap();
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(text.contains("sigquit_dump::child"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("goroutine ")), "{text}");
    quit();
    dumps(2);
    // Still running: it answers stdin and exits cleanly.
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert!(status.success(), "{status:?}");
    assert!(rest.contains("done"), "{rest}");
}
