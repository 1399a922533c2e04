//! `go tool pprof BINARY PROFILE`, the way a Go user opens a profile, keeps
//! the function names labkit wrote, for the CPU, block and mutex profiles
//! alike: the profiles say they are symbolised already, so pprof does not
//! look their addresses (all 0) up in the binary again.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use labkit::contention::{self, Mutex};
use labkit::profile::Recorded;

mod common;

/// `go tool pprof -top BINARY PROFILE`; `None` when Go is not installed
/// (unless `LABKIT_REQUIRE_GO` is set, as CI sets it).
fn go_pprof_top_with_binary(binary: &Path, profile: &Path) -> Option<String> {
    if !common::go_present() {
        return None;
    }
    let out = Command::new("go")
        .args(["tool", "pprof", "-top", "-nodecount=200"])
        .arg(binary)
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

fn assert_names_kept(recorded: &Recorded, dir: &Path, name: &str, function: &str) {
    let path = dir.join(format!("{name}.pb.gz"));
    let mut bytes = Vec::new();
    recorded.write_pprof(&mut bytes).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let binary = std::env::current_exe().unwrap();
    let Some(top) = go_pprof_top_with_binary(&binary, &path) else {
        return;
    };
    assert!(
        top.contains(function),
        "go tool pprof BINARY {name}.pb.gz lost {function}:\n{top}"
    );
}

#[inline(never)]
fn spin_for(how_long: Duration) -> u64 {
    let start = Instant::now();
    let mut x = 0u64;
    while start.elapsed() < how_long {
        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
    }
    x
}

#[inline(never)]
fn wait_for_the_lock(lock: &Mutex<u64>) {
    *lock.lock() += 1;
}

#[inline(never)]
fn keep_it_busy(lock: &Mutex<u64>, holding: std::sync::mpsc::Sender<()>) {
    let guard = lock.lock();
    holding.send(()).unwrap();
    // Hold the lock while the other thread comes to wait for it.
    thread::sleep(Duration::from_millis(30));
    drop(guard);
}

#[test]
fn go_tool_pprof_with_the_binary_keeps_our_names() {
    let dir = tempfile::tempdir().unwrap();

    let capture = labkit::capture::Capture::start().unwrap();
    spin_for(Duration::from_millis(300));
    let cpu = capture.stop().unwrap();
    assert_names_kept(&cpu, dir.path(), "cpu", "go_pprof_binary::spin_for");

    contention::set_block_profile_rate(1).unwrap();
    contention::set_mutex_profile_fraction(1).unwrap();
    // On a busy machine the waiter may come only after the holder let go:
    // try until one round had both a wait and a contended release.
    for _ in 0..50 {
        let lock = Arc::new(Mutex::new(0u64));
        let (holding, held) = std::sync::mpsc::channel();
        let holder = {
            let lock = Arc::clone(&lock);
            thread::spawn(move || keep_it_busy(&lock, holding))
        };
        held.recv().unwrap();
        wait_for_the_lock(&lock);
        holder.join().unwrap();
        if contention::mutex_profile().sample_count() > 0 {
            break;
        }
    }
    contention::set_block_profile_rate(0).unwrap();
    contention::set_mutex_profile_fraction(0).unwrap();
    let block = contention::block_profile();
    let mutex = contention::mutex_profile();
    assert!(
        mutex.sample_count() > 0,
        "no contended release in 50 rounds"
    );
    assert_names_kept(
        &block,
        dir.path(),
        "block",
        "go_pprof_binary::wait_for_the_lock",
    );
    assert_names_kept(&mutex, dir.path(), "mutex", "go_pprof_binary::keep_it_busy");
}
