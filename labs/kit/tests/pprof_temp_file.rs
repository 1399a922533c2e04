//! pprof-rs keeps a named temporary file (`/tmp/.tmpXXXXXX`) in a `static`
//! that is never dropped, so every profiled process used to leave one
//! behind. `labkit::capture` removes it; this test runs a process that
//! profiles three times, with `TMPDIR` pointing at a fresh directory, and
//! finds that directory empty afterwards, and every profile whole.

use std::process::Command;

use labkit::capture::Capture;

/// The child's side: three captures, each with its samples. Without
/// `LABKIT_CAPTURES` this test does nothing.
#[test]
fn child() {
    if std::env::var_os("LABKIT_CAPTURES").is_none() {
        return;
    }
    for round in 0..3 {
        let capture = Capture::start().unwrap();
        let until = std::time::Instant::now() + std::time::Duration::from_millis(60);
        let mut x = round;
        while std::time::Instant::now() < until {
            x = std::hint::black_box(labkit::work::burn(1, x));
        }
        // The report reads pprof-rs's file back: it must still be there.
        let profile = capture.stop().unwrap();
        println!("round {round}: {} samples", profile.sample_count());
    }
    // A capture dropped without `stop` cleans up too.
    drop(Capture::start().unwrap());
}

#[test]
fn a_profiled_process_leaves_no_temporary_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads", "1"])
        .env("LABKIT_CAPTURES", "3")
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.contains("round 2: "), "{stdout}");
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
}
