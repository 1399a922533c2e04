//! What Go's `net/http/pprof` serves, the service serves: an index, a live
//! heap profile, a trace of its spans, block and mutex profiles over the
//! last N seconds, and a task dump grouped or whole. Bad parameters are
//! refused by name.

use std::path::Path;
use std::time::Duration;

use labkit::http;
use selfcheck::OrFail;
use workbook::days::day089;

fn get(addr: std::net::SocketAddr, path: &str) -> http::Response {
    http::request(addr, "GET", path, None, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

fn processed(addr: std::net::SocketAddr) -> u64 {
    let stats: serde_json::Value = serde_json::from_slice(&get(addr, "/stats").body).unwrap();
    stats["processed"]
        .as_u64()
        .expect("/stats says how many items were processed")
}

/// Feeds the pipeline 200 items and waits until they are through, so
/// that the profiles and the trace have something in them.
fn some_work(addr: std::net::SocketAddr) {
    let before = processed(addr);
    let body = r#"{"workers": 4, "items": 50}"#;
    let r = http::request(addr, "POST", "/load", Some(body), Duration::from_secs(10)).unwrap();
    assert_eq!(r.status, 202, "{}", r.text());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while processed(addr) < before + 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "200 items were not through in 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn index_heap_and_tasks_answer_and_bad_parameters_are_named() {
    let _machine = selfcheck::one_at_a_time();
    let dir = selfcheck::scratch();
    let (service, addr) = day089::start(
        selfcheck::launch,
        Path::new(selfcheck::program!()),
        dir.path(),
    )
    .or_fail();
    some_work(addr);

    let index = get(addr, "/debug/pprof/");
    assert_eq!(index.status, 200);
    for endpoint in [
        "profile?seconds=N",
        "heap",
        "block?seconds=N",
        "mutex?seconds=N",
        "tasks?debug=1|2",
        "trace?seconds=N",
    ] {
        assert!(
            index.text().contains(&format!("\n{endpoint} ")),
            "{endpoint} missing:\n{}",
            index.text()
        );
    }

    let heap = get(addr, "/debug/pprof/heap");
    assert_eq!(heap.status, 200, "{}", heap.text());
    let profile =
        labkit::profile::decode(Path::new("heap"), &heap.body).unwrap_or_else(|e| panic!("{e}"));
    let inuse = profile
        .value_index("inuse_space")
        .expect("an inuse_space sample type");
    assert!(profile.total(inuse) > 0, "nothing in use: {profile:?}");
    // Naming the stacks of one heap profile parses the program's debug
    // information, some 50 MB in this debug build; the next profile must
    // not find the endpoint still holding it. (A stray sample of the
    // dump's own small allocations counts about 512 KiB.)
    let again = get(addr, "/debug/pprof/heap");
    let again =
        labkit::profile::decode(Path::new("heap"), &again.body).unwrap_or_else(|e| panic!("{e}"));
    let kept: i64 = again
        .samples
        .iter()
        .filter(|s| {
            s.stack
                .iter()
                .any(|f| f.starts_with("labkit::endpoints::heap"))
        })
        .map(|s| s.values[inuse])
        .sum();
    assert!(
        kept < 8 << 20,
        "the first heap profile's symbolizer is still held: {kept} bytes"
    );

    let grouped = get(addr, "/debug/pprof/tasks?debug=1");
    assert_eq!(grouped.status, 200, "{}", grouped.text());
    assert!(
        grouped.text().starts_with("# tasks by where they wait:"),
        "{}",
        grouped.text()
    );
    let every = get(addr, "/debug/pprof/tasks?debug=2");
    assert_eq!(every.status, 200, "{}", every.text());
    assert!(every.text().starts_with("# task dump:"), "{}", every.text());

    for (path, field) in [
        ("/debug/pprof/tasks?debug=3", "debug"),
        ("/debug/pprof/tasks?debug=all", "debug"),
        ("/debug/pprof/block?seconds=0", "seconds"),
        ("/debug/pprof/block?seconds=soon", "seconds"),
        ("/debug/pprof/mutex?seconds=31", "seconds"),
        ("/debug/pprof/mutex?debug=1", "debug"),
        ("/debug/pprof/trace?seconds=-1", "seconds"),
        ("/debug/pprof/trace?seconds=31", "seconds"),
    ] {
        let r = get(addr, path);
        assert_eq!(r.status, 400, "{path}: {}", r.text());
        assert!(
            r.text().contains(&format!("\"field\":\"{field}\"")),
            "{path}: {}",
            r.text()
        );
    }
    drop(service);
}

/// `?seconds=N` on block and mutex: only what happened in those seconds.
/// The work is over before the window opens, so the window holds less
/// than the whole run, which holds the work (the control, same run).
/// Meanwhile a trace whose client left runs on: until it ends, another
/// is refused; then the next one records the spans of work done while it
/// runs (one at a time, not one ever).
#[test]
fn deltas_cover_their_window_and_traces_their_spans() {
    use std::io::Write;
    let _machine = selfcheck::one_at_a_time();
    let dir = selfcheck::scratch();
    let (service, addr) = day089::start(
        selfcheck::launch,
        Path::new(selfcheck::program!()),
        dir.path(),
    )
    .or_fail();
    some_work(addr);
    let wholes = ["block", "mutex"].map(|kind| get(addr, &format!("/debug/pprof/{kind}")));
    let mut leaver = std::net::TcpStream::connect(addr).unwrap();
    leaver
        .write_all(b"GET /debug/pprof/trace?seconds=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    // Both windows at once: the same idle second, the leaver's.
    let windows = ["block", "mutex"].map(|kind| {
        std::thread::spawn(move || get(addr, &format!("/debug/pprof/{kind}?seconds=1")))
    });
    std::thread::sleep(Duration::from_millis(200));
    drop(leaver);
    let second = get(addr, "/debug/pprof/trace?seconds=1");
    assert_eq!(second.status, 409, "{}", second.text());

    let windows = windows.map(|t| t.join().unwrap());
    for ((kind, whole), window) in ["block", "mutex"].iter().zip(&wholes).zip(&windows) {
        assert_eq!(
            (whole.status, window.status),
            (200, 200),
            "{kind}: {}",
            window.text()
        );
        let count = |r: &http::Response| {
            labkit::profile::decode(Path::new(kind), &r.body)
                .unwrap_or_else(|e| panic!("{kind}: {e}"))
                .total(0)
        };
        let (whole, window) = (count(whole), count(window));
        eprintln!("{kind}: {whole} events in the run, {window} in an idle second");
        if *kind == "block" {
            assert!(whole > 0, "the work blocked nowhere");
        }
        assert!(
            window < whole || whole == 0,
            "{kind}: {window} in the window, {whole} in all"
        );
    }

    // The leaver's trace ends on time and lowers its flag: a later trace
    // is recorded (refused only while the leaver's still runs).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let trace = loop {
        let tracing = std::thread::spawn(move || get(addr, "/debug/pprof/trace?seconds=1"));
        std::thread::sleep(Duration::from_millis(200));
        some_work(addr);
        let r = tracing.join().unwrap();
        match r.status {
            200 => break r,
            409 => assert!(
                std::time::Instant::now() < deadline,
                "the trace whose client left still holds the flag after 30 s"
            ),
            status => panic!(
                "a trace after a client left answered {status}: {}",
                r.text()
            ),
        }
    };
    let trace = labkit::trace::parse(Path::new("trace.json"), &trace.body)
        .unwrap_or_else(|e| panic!("{e}"));
    let spans: std::collections::BTreeSet<&str> = trace
        .threads
        .iter()
        .flat_map(|t| t.spans.iter().map(|(name, _)| name.as_str()))
        .collect();
    assert!(
        spans.contains("work") && spans.contains("consume"),
        "{spans:?} in {trace:?}"
    );
    drop(service);
}
