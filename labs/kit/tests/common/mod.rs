//! What labkit's integration tests share.

use std::process::Command;

/// Whether `go` is on PATH for the `go tool pprof` half of a test. Without
/// it that half is skipped, unless `LABKIT_REQUIRE_GO` is set, as CI sets
/// it: then a missing Go fails the test.
pub fn go_present() -> bool {
    let present = Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        assert!(
            std::env::var_os("LABKIT_REQUIRE_GO").is_none(),
            "LABKIT_REQUIRE_GO is set but `go` is not on PATH"
        );
        eprintln!("skipped the go tool pprof half: `go` is not on PATH");
    }
    present
}

/// `go tool pprof ARGS…` (its saved copies in the temporary directory),
/// its standard output; the test fails, with pprof's own words, if it
/// fails.
#[allow(dead_code)] // not every test binary that has `mod common` calls it
pub fn go_pprof<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S]) -> String {
    let out = Command::new("go")
        .args(["tool", "pprof"])
        .args(args)
        .env("PPROF_TMPDIR", std::env::temp_dir())
        .output()
        .expect("run go tool pprof");
    assert!(
        out.status.success(),
        "go tool pprof {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
