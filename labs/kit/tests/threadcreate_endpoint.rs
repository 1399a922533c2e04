//! `/debug/pprof/threadcreate` answers Go's threadcreate profile: the
//! stacks that made the process's threads, counted, which `go tool pprof`
//! reads from the URL, and Go's grouped text with `debug=1`.
//!
//! Before, the URL was 404. (Go's own answers, but with next to no stacks
//! in it: golang/go#6104.)

mod common;

use std::time::Duration;

use labkit::net::{Background, Limits};

fn get(server: &Background, path: &str) -> labkit::http::Response {
    labkit::http::request(server.addr(), "GET", path, None, Duration::from_secs(30)).unwrap()
}

/// Makes three threads from one place the profile must name.
#[inline(never)]
fn three_workers_made_here() {
    let workers: Vec<_> = (0..3)
        .map(|i| {
            std::thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(|| ())
                .unwrap()
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
}

#[test]
fn threadcreate_names_the_stacks_that_made_the_threads() {
    three_workers_made_here();
    let server = Background::start(
        labkit::endpoints::router(10),
        Limits::new(Duration::from_secs(30)),
        0,
    )
    .unwrap();

    let one = get(&server, "/debug/pprof/threadcreate?debug=1");
    assert_eq!(one.status, 200, "{}", one.text());
    let text = one.text();
    assert!(text.starts_with("threadcreate profile: total "), "{text}");
    let group = text
        .split("\n\n")
        .find(|g| g.contains("three_workers_made_here"))
        .unwrap_or_else(|| panic!("no stack through three_workers_made_here:\n{text}"));
    let first = group
        .lines()
        .find(|l| l.contains(" @ 0x"))
        .unwrap_or_else(|| panic!("{group}"));
    assert!(first.starts_with("3 @ 0x"), "{group}");
    // The innermost frame shown is the program's spawn, not labkit's
    // recording nor the C library.
    let innermost = group.lines().find(|l| l.starts_with("#\t")).unwrap();
    assert!(
        innermost.contains("std::thread::"),
        "innermost frame: {innermost}\n{group}"
    );

    let zero = get(&server, "/debug/pprof/threadcreate");
    assert_eq!(zero.status, 200);
    let profile =
        labkit::profile::decode(std::path::Path::new("threadcreate"), &zero.body).unwrap();
    assert_eq!(profile.sample_types[0].0, "threadcreate");
    assert!(profile.samples.iter().any(|s| s.values[0] == 3));

    let bad = get(&server, "/debug/pprof/threadcreate?debug=2");
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("expected 0 (pprof"), "{}", bad.text());

    if common::go_present() {
        let url = format!("http://{}/debug/pprof/threadcreate", server.addr());
        let out = common::go_pprof(&["-traces", &url]);
        assert!(out.contains("Type: threadcreate"), "{out}");
        assert!(out.contains("three_workers_made_here"), "{out}");
    }
}
