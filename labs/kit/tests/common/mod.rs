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
