//! Day 083's solution proves itself: its profile is whole, readable, ranked
//! as the page says, and `go tool pprof` agrees.

use std::path::PathBuf;

use selfcheck::OrFail;
use workbook::days::day083;

/// One run of the solution, shared by the tests: two runs at once would
/// share the machine's two cores and each profile the other's noise.
fn solution_output() -> PathBuf {
    selfcheck::run_once!()
}

#[test]
fn summary() {
    let dir = solution_output();
    let summary = day083::check(&dir).or_fail();

    // The ranges in the snapshot hide the numbers; the ratio itself must be
    // right too: about 4:1. At the floor of 300 samples the log of the
    // ratio has a standard error of √((1/.8 + 1/.2) / 300) ≈ 0.14, so
    // 2.2..8.3 (log 4 − 0.6, + 0.73) is more than 4 standard errors wide on each
    // side. (The old 3..6 was 2 standard errors at 150, and failed.)
    let (checksum, encode) = (summary.percent("checksum"), summary.percent("encode"));
    assert!(
        (2.2..8.3).contains(&(checksum / encode)),
        "checksum:encode = {checksum:.0}:{encode:.0}, expected about 4:1"
    );

    // Written atomically: nothing but the two profiles is left behind.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["cpu.pb.gz", "cpu.svg"]);

    insta::assert_snapshot!("summary", summary.to_string());
}

/// `go tool pprof` is the independent reader: if it accepts the file and
/// ranks the same functions, the file is a real pprof profile.
#[test]
fn go_tool_pprof_reads_the_profile() {
    let Some(top) = selfcheck::go_pprof_lists(
        &solution_output().join("cpu.pb.gz"),
        "cpu",
        &[
            "solution_083::worker",
            "solution_083::checksum",
            "solution_083::encode",
        ],
    ) else {
        return;
    };
    // The profiler's own frames were stripped before the file was written.
    assert!(!top.contains("backtrace::backtrace"), "{top}");
    assert!(!top.contains("perf_signal_handler"), "{top}");
}

/// The book shows the expected summary as text; it must be the snapshot's.
#[test]
fn the_book_shows_the_snapshot() {
    selfcheck::assert_book_shows_snapshot(workbook::this_day!(), &["book/reading-a-profile.md"]);
}

/// The profile and its flame graph are replaced together: with room for a
/// new `cpu.pb.gz` but not for a new `cpu.svg` (`ulimit -f`), the run exits
/// non-zero and leaves both old files as they were.
#[test]
fn a_run_that_cannot_write_its_picture_keeps_the_old_profile_too() {
    let good = solution_output();
    let dir = selfcheck::scratch();
    let mut before = Vec::new();
    for name in ["cpu.pb.gz", "cpu.svg"] {
        let bytes = std::fs::read(good.join(name)).unwrap();
        std::fs::write(dir.path().join(name), &bytes).unwrap();
        before.push(bytes);
    }
    let blocks = before[0].len().div_ceil(512) * 2 + 1;
    assert!(
        before[1].len() > blocks * 512 * 2,
        "the picture is too small for this test"
    );
    let _machine = selfcheck::one_at_a_time();
    let run = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {blocks}; exec \"$0\" --out \"$1\""
        ))
        .arg(selfcheck::program!())
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        !run.status.success(),
        "a run that saved nothing exited 0: {stderr}"
    );
    assert!(stderr.contains("cpu.svg"), "{stderr}");
    for (name, old) in ["cpu.pb.gz", "cpu.svg"].iter().zip(&before) {
        let now = std::fs::read(dir.path().join(name)).unwrap();
        assert!(&now == old, "{name} was replaced although the run failed");
    }
}

#[test]
#[ignore = "the emulated machines take a minute in all; .ci/run runs them: cargo test -- --ignored emulated"]
fn passes_on_emulated_machines() {
    selfcheck::passes_on_emulated_machines!();
}
