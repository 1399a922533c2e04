//! A failing self-check reads like a teacher, not a crash: symptom, hint
//! and page, with no panic location and no backtrace, even under
//! `RUST_BACKTRACE=1`. A real bug still panics the ordinary way.
//!
//! Each case runs this test binary again, as a child, on one ignored test,
//! so the check sees exactly what a learner's terminal would show.

use std::process::Command;

use selfcheck::OrFail;
use workbook::Failure;

#[test]
#[ignore = "a child process of the tests below"]
fn child_a_day_fails() {
    let verdict: Result<(), Failure> = Err(Failure {
        day: "080",
        symptom: "cpu profile has 0 samples".into(),
        hint: "keep the guard in a named binding",
    });
    verdict.or_fail();
}

#[test]
#[ignore = "a child process of the tests below"]
fn child_a_bug_after_a_failure() {
    // The first failure installs the quiet hook; a plain panic after it
    // must still say where it happened.
    let _ = std::panic::catch_unwind(|| {
        selfcheck::fail(Failure {
            day: "080",
            symptom: "first".into(),
            hint: "none",
        })
    });
    panic!("an ordinary bug");
}

fn run_child(test: &str) -> (bool, String) {
    let out = Command::new(std::env::current_exe().expect("the test binary's path"))
        .args(["--ignored", "--exact", test, "--test-threads=1"])
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run the test binary as a child");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn a_failing_check_shows_symptom_hint_and_page_and_no_backtrace() {
    let (passed, text) = run_child("child_a_day_fails");
    assert!(!passed, "{text}");
    let symptom = text.find("symptom: cpu profile has 0 samples");
    let hint = text.find("hint:    keep the guard in a named binding");
    let page = text.find("read:    book/day-080.md");
    assert!(
        symptom.is_some() && symptom < hint && hint < page,
        "symptom, hint and page, in that order:\n{text}"
    );
    assert!(!text.contains("panicked at"), "{text}");
    assert!(!text.contains("stack backtrace"), "{text}");
    assert!(text.contains("test result: FAILED"), "{text}");
}

#[test]
fn an_ordinary_panic_still_says_where_it_happened() {
    let (passed, text) = run_child("child_a_bug_after_a_failure");
    assert!(!passed, "{text}");
    assert!(text.contains("panicked at"), "{text}");
    assert!(text.contains("an ordinary bug"), "{text}");
}
