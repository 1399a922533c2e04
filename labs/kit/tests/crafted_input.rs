//! `labkit summary` on files made to break it: each must end with exit
//! code 2 and one sentence naming the file and what is wrong, never a panic
//! (exit 101 and a backtrace), and never by eating the machine's memory.
//!
//! The profiles are small protobufs built here, so the test says exactly
//! what each file holds.

use std::path::Path;
use std::process::{Command, Output};

use labkit::proto as protos;
use prost::Message;

/// Runs `labkit summary FILE`.
fn summary(file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_labkit"))
        .arg("summary")
        .arg(file)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap()
}

/// The run failed with exit code 2 and a message holding every part of
/// `expected`, and nothing that looks like a panic.
fn refused(out: &Output, expected: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for part in expected {
        assert!(stderr.contains(part), "{part:?} not in: {stderr}");
    }
}

/// Runs `command` with its output captured; fails the test if it has not
/// ended within a minute (a reader waiting on a pipe for ever), saying
/// `waiting`.
fn within_a_minute(mut command: Command, waiting: &str) -> Output {
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("{command:?} {waiting} after 60 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// A profile with these sample types, and one sample per entry of `values`
/// on the stack `lab_1::main`.
fn pprof(types: &[(&str, &str)], values: &[Vec<i64>]) -> Vec<u8> {
    let mut strings = vec![String::new(), "lab_1::main".to_string()];
    let mut index = |s: &str| {
        strings.push(s.to_string());
        strings.len() as i64 - 1
    };
    let sample_type = types
        .iter()
        .map(|(ty, unit)| protos::ValueType {
            ty: index(ty),
            unit: index(unit),
        })
        .collect();
    let profile = protos::Profile {
        sample_type,
        sample: values
            .iter()
            .map(|v| protos::Sample {
                location_id: vec![1],
                value: v.clone(),
                label: vec![],
            })
            .collect(),
        location: vec![protos::Location {
            id: 1,
            line: vec![protos::Line {
                function_id: 1,
                line: 0,
            }],
            ..Default::default()
        }],
        function: vec![protos::Function {
            id: 1,
            name: 1,
            ..Default::default()
        }],
        string_table: strings,
        ..Default::default()
    };
    profile.encode_to_vec()
}

#[test]
fn a_contention_profile_without_delays_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("block.pb");
    std::fs::write(&file, pprof(&[("contentions", "count")], &[vec![3]])).unwrap();
    refused(
        &summary(&file),
        &[
            "block.pb cannot be summarised as a block profile",
            "its sample types are contentions",
        ],
    );
    // Asked for as a CPU profile, the same file is summarised.
    let out = Command::new(env!("CARGO_BIN_EXE_labkit"))
        .args(["summary", "--kind", "cpu", "--min-samples", "1"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn values_that_overflow_a_total_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cpu.pb");
    let max = vec![i64::MAX];
    std::fs::write(&file, pprof(&[("samples", "count")], &[max.clone(), max])).unwrap();
    refused(
        &summary(&file),
        &[
            "cpu.pb is not a pprof profile",
            "its samples values add up to more than",
        ],
    );
    std::fs::write(&file, pprof(&[("samples", "count")], &[vec![-5]])).unwrap();
    refused(
        &summary(&file),
        &[
            "cpu.pb is not a pprof profile",
            "negative samples value (-5)",
        ],
    );
}

#[test]
fn a_dhat_file_whose_bytes_overflow_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dhat-heap.json");
    let block = |tb: u64| format!(r#"{{"tb":{tb},"tbk":1,"gb":0,"fs":[1]}}"#);
    let text = format!(
        r#"{{"dhatFileVersion":2,"mode":"rust-heap","ftbl":["[root]","0x1: lab_1::main (src/main.rs:1:1)"],"pps":[{},{}]}}"#,
        block(u64::MAX),
        block(1)
    );
    std::fs::write(&file, text).unwrap();
    refused(
        &summary(&file),
        &[
            "dhat-heap.json is not a dhat heap profile",
            "bytes (tb) add up to more than 2^64",
        ],
    );
}

#[test]
fn what_is_read_is_capped_and_the_cap_is_said() {
    let dir = tempfile::tempdir().unwrap();
    // A sparse file one byte over the cap: refused by its size, unread.
    let file = dir.path().join("huge.pb.gz");
    let f = std::fs::File::create(&file).unwrap();
    f.set_len(labkit::profile::MAX_BYTES + 1).unwrap();
    refused(
        &summary(&file),
        &["huge.pb.gz is more than 256 MiB, the most labkit reads"],
    );
    // A device is not a file: refused before it is opened.
    refused(
        &summary(Path::new("/dev/zero")),
        &["/dev/zero cannot be read: it is a device, not a file"],
    );
}

/// A named pipe nobody writes to hung `labkit summary` and `labkit diff`
/// for ever (opening it for reading waits for a writer): now they give up
/// after a moment and say why.
#[test]
fn a_pipe_with_no_writer_is_refused_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("cpu.pb.gz");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let pipe = fifo.to_str().unwrap();
    for args in [vec!["summary"], vec!["diff", pipe]] {
        let mut labkit = Command::new(env!("CARGO_BIN_EXE_labkit"));
        labkit.args(&args).arg(&fifo);
        let out = within_a_minute(labkit, "still waits on a pipe nobody writes to");
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("a named pipe and nothing wrote to it"),
            "{args:?}: {stderr}"
        );
    }
}

/// A named pipe can be read only once: a summary that read its file twice
/// (once to tell dhat from a trace, once to parse it) would wait forever
/// for a second writer.
#[test]
fn a_file_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("trace.json");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let writer = {
        let fifo = fifo.clone();
        // Opening a pipe for writing waits for its reader.
        std::thread::spawn(move || {
            let trace = r#"[{"ph":"X","name":"work","tid":1,"ts":0,"dur":10}]"#;
            std::fs::write(fifo, trace).unwrap();
        })
    };
    let mut labkit = Command::new(env!("CARGO_BIN_EXE_labkit"));
    labkit.arg("summary").arg(&fifo);
    let out = within_a_minute(labkit, "still waits on the pipe: it opened it twice");
    writer.join().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("trace\n"), "{stdout}");
}

/// Traces whose events had the wrong types, or an end before its begin,
/// were summarised as "spans: none" with exit code 0.
#[test]
fn a_trace_with_wrong_types_or_time_running_backwards_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            r#"[{"ph":1,"name":"w","tid":1,"ts":0,"dur":10}]"#,
            "event 0: \"ph\" must be a string",
        ),
        (
            r#"[{"ph":"X","name":"w","tid":1,"ts":"x","dur":10}]"#,
            "event 0: \"ts\" must be a number",
        ),
        (
            r#"[{"ph":"X","name":"w","tid":[],"ts":0,"dur":10}]"#,
            "event 0: \"tid\" must be a whole number",
        ),
        (
            r#"[{"ph":"X","name":"w","tid":1,"ts":0,"dur":-3}]"#,
            "\"dur\" must be a number ≥ 0",
        ),
        (r#"[{"name":"w","tid":1,"ts":0}]"#, "event 0: has no \"ph\""),
        (
            r#"[{"ph":"B","name":"w","tid":1,"ts":9},{"ph":"E","tid":1,"ts":2}]"#,
            "event 1: \"w\" ends at 2 µs, before its begin at 9 µs",
        ),
        (r#"[7]"#, "event 0: expected an object"),
    ];
    for (i, (json, expected)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("trace-{i}.json"));
        std::fs::write(&file, json).unwrap();
        refused(&summary(&file), &[&format!("trace-{i}.json"), expected]);
    }
    // A span begun before the recording started ends with no begin: fine.
    let file = dir.path().join("late.json");
    std::fs::write(
        &file,
        r#"[{"ph":"E","tid":1,"ts":1},{"ph":"X","name":"w","tid":1,"ts":2,"dur":5}]"#,
    )
    .unwrap();
    assert!(summary(&file).status.success());
}

/// A dhat file with a site's fields missing, or a frame index past its
/// frame table, read as "own allocation sites: none" with exit code 0.
#[test]
fn a_dhat_file_with_missing_fields_or_frames_out_of_range_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let head = r#""dhatFileVersion":2,"mode":"rust-heap","cmd":"lab-084","ftbl":["[root]","lab_084::f (src/main.rs:1:1)"]"#;
    let cases = [
        (r#"[{"tbk":1,"gb":0,"fs":[1]}]"#, "pps[0] has no \"tb\""),
        (r#"[{"tb":8,"tbk":1,"gb":0}]"#, "pps[0] has no \"fs\""),
        (
            r#"[{"tb":8,"tbk":1,"gb":0,"fs":[7]}]"#,
            "pps[0] names frame 7, but ftbl has 2 entries",
        ),
        (
            r#"[{"tb":"8","tbk":1,"gb":0,"fs":[1]}]"#,
            "pps[0] has no \"tb\" (a whole number ≥ 0): \"8\"",
        ),
    ];
    for (i, (pps, expected)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("dhat-{i}.json"));
        std::fs::write(&file, format!("{{{head},\"pps\":{pps}}}")).unwrap();
        refused(&summary(&file), &[&format!("dhat-{i}.json"), expected]);
    }
    let file = dir.path().join("good.json");
    std::fs::write(
        &file,
        format!(r#"{{{head},"pps":[{{"tb":8,"tbk":1,"gb":8,"fs":[1]}}]}}"#),
    )
    .unwrap();
    let out = summary(&file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
