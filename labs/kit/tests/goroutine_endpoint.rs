//! `/debug/pprof/goroutine` answers Go's goroutine profile in its three
//! forms, for OS threads and tokio tasks together, and Go's own reader
//! takes them: `go tool pprof -top` on the live URL (debug=0) and on the
//! grouped text (debug=1, pprof's legacy parser).
//!
//! Before, the URL was 404 with an empty body, and no form listed threads.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use labkit::net::{Background, Limits};

fn get(server: &Background, path: &str) -> labkit::http::Response {
    labkit::http::request(server.addr(), "GET", path, None, Duration::from_secs(30)).unwrap()
}

#[test]
fn goroutine_serves_threads_and_tasks_in_go_s_three_forms() {
    // Four threads parked on one lock: the profile must count them as one
    // stack of 4, in `sync.Mutex.Lock`.
    let lock = Arc::new(parking_lot::Mutex::new(()));
    let held = lock.lock();
    let waiters: Vec<_> = (0..4)
        .map(|i| {
            let lock = lock.clone();
            std::thread::Builder::new()
                .name(format!("stuck-{i}"))
                .spawn(move || drop(lock.lock()))
                .unwrap()
        })
        .collect();
    let server = Background::start(
        labkit::endpoints::router(10),
        Limits::new(Duration::from_secs(30)),
        0,
    )
    .unwrap();
    // Until all four wait (on a busy machine they may start late).
    let started = Instant::now();
    let text = loop {
        let two = get(&server, "/debug/pprof/goroutine?debug=2");
        assert_eq!(two.status, 200, "{}", two.text());
        let text = two.text();
        if text.matches("[sync.Mutex.Lock, thread stuck-").count() == 4 {
            break text;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{text}");
        std::thread::sleep(Duration::from_millis(50));
    };
    // debug=2: Go's traceback shape, every entry.
    for entry in text.split("\n\n").filter(|e| !e.trim().is_empty()) {
        let mut lines = entry.lines();
        let header = lines.next().unwrap();
        let id = header
            .strip_prefix("goroutine ")
            .and_then(|r| r.split_once(" ["))
            .map(|(id, _)| id);
        assert!(
            id.is_some_and(|id| id.parse::<u64>().is_ok()) && header.ends_with("]:"),
            "{header}"
        );
        let rest: Vec<&str> = lines.collect();
        if rest.len() == 1 {
            assert!(rest[0].starts_with("\tstack unavailable"), "{entry}");
            continue;
        }
        for pair in rest.chunks(2) {
            if pair[0].starts_with("created by ") {
                continue;
            }
            assert!(pair[0].ends_with("(...)"), "{entry}");
            assert!(pair.get(1).is_some_and(|l| l.starts_with('\t')), "{entry}");
        }
    }
    assert!(text.contains("goroutine_endpoint::"), "{text}");

    let one = get(&server, "/debug/pprof/goroutine?debug=1").text();
    assert!(one.starts_with("goroutine profile: total "), "{one}");
    assert!(one.lines().any(|l| l.starts_with("4 @ 0x")), "{one}");

    let zero = get(&server, "/debug/pprof/goroutine");
    assert_eq!(zero.status, 200);
    let profile = labkit::profile::decode(std::path::Path::new("goroutine"), &zero.body).unwrap();
    assert_eq!(profile.sample_types[0].0, "goroutine");
    assert!(profile.samples.iter().any(|s| s.values[0] == 4));

    let bad = get(&server, "/debug/pprof/goroutine?debug=3");
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("expected 0 (pprof"), "{}", bad.text());

    if common::go_present() {
        let url = format!("http://{}/debug/pprof/goroutine", server.addr());
        let out = common::go_pprof(&["-top", "-tagfocus=state=sync.Mutex.Lock", &url]);
        assert!(out.contains("Type: goroutine"), "{out}");
        assert!(out.contains("goroutine_endpoint::"), "{out}");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("goroutine.txt");
        std::fs::write(&file, &one).unwrap();
        let out = common::go_pprof(&[std::ffi::OsStr::new("-raw"), file.as_os_str()]);
        assert!(out.contains("PeriodType: goroutine count"), "{out}");
        assert!(
            out.lines().any(|l| l.trim_start().starts_with("4: ")),
            "{out}"
        );
    }

    drop(held);
    for w in waiters {
        w.join().unwrap();
    }
}
