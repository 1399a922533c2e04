//! Day 083's solution proves itself: its profile is whole, readable, ranked
//! as the page says, and `go tool pprof` agrees.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use labkit::check;
use labkit::days::day083;

/// One run of the solution, shared by the tests: two runs at once would
/// share the machine's two cores and each profile the other's noise.
fn solution_output() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = check::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "solution-083");
        check::run_program(Path::new(env!("CARGO_BIN_EXE_solution-083")), &dir)
            .unwrap_or_else(|e| panic!("{e}"));
        dir
    })
}

#[test]
fn summary() {
    let dir = solution_output();
    let summary = day083::check(dir).unwrap_or_else(|failure| panic!("\n{failure}\n"));

    // The bands in the snapshot hide the numbers; the numbers themselves
    // must sit well inside them. Measured: checksum 78–84 %, encode 16–22 %.
    let (checksum, encode) = (summary.percent("checksum"), summary.percent("encode"));
    assert!(
        (3.0..6.0).contains(&(checksum / encode)),
        "checksum:encode = {checksum:.0}:{encode:.0}, expected about 4:1"
    );

    // Written atomically: nothing but the two profiles is left behind.
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["cpu.pb.gz", "cpu.svg"]);

    insta::assert_snapshot!("summary", summary.to_string());
}

/// `go tool pprof` is the independent reader: if it accepts the file and
/// ranks the same functions on top, the file is a real pprof profile. The
/// test needs Go; it says so and passes without it, unless CI asks for it
/// with `LABKIT_REQUIRE_GO=1`.
#[test]
fn go_tool_pprof_reads_the_profile() {
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
        return;
    }
    let dir = solution_output();
    let out = Command::new("go")
        .args(["tool", "pprof", "-top", "-nodecount=100"])
        .arg(dir.join("cpu.pb.gz"))
        .output()
        .expect("run go tool pprof");
    let top = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "go tool pprof failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(top.contains("Type: cpu"), "{top}");
    for name in [
        "solution_083::worker",
        "solution_083::checksum",
        "solution_083::encode",
    ] {
        assert!(
            top.contains(name),
            "go tool pprof -top does not list {name}:\n{top}"
        );
    }
    // The profiler's own frames were stripped before the file was written.
    assert!(!top.contains("backtrace::backtrace"), "{top}");
    assert!(!top.contains("perf_signal_handler"), "{top}");
}

/// The book shows the expected summary as text; it must be the snapshot's.
#[test]
fn the_book_shows_the_snapshot() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let snapshot = check::snapshot_body(
        &root.join("solutions/solution-083/tests/snapshots/cpu_profile__summary.snap"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for page in ["book/day-083.md", "book/reading-a-profile.md"] {
        let text =
            std::fs::read_to_string(root.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(
            text.contains(&format!("```text\n{snapshot}```")),
            "{page} does not show the snapshot's summary:\n{snapshot}"
        );
    }
}
