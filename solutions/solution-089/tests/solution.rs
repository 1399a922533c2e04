//! Day 089's solution proves itself: profiling does not stall the service,
//! a second capture is refused with 409, and bad input gets a 400 that
//! names the field.

use std::path::Path;
use std::time::Duration;

use labkit::http;
use selfcheck::OrFail;
use workbook::days::day089;

#[test]
fn summary() {
    let _machine = selfcheck::one_at_a_time();
    let dir = selfcheck::scratch();
    let outcome = day089::check(
        selfcheck::launch,
        Path::new(selfcheck::program!()),
        dir.path(),
    )
    .or_fail();
    eprintln!(
        "longest /stats {:?} during a {:?} capture ({:.1}%); profile {} bytes",
        outcome.longest_stats,
        outcome.capture,
        outcome.stall_share() * 100.0,
        outcome.profile_bytes
    );
    insta::assert_snapshot!("summary", outcome.to_string());
}

#[test]
fn one_capture_at_a_time_and_bad_input_is_named() {
    let _machine = selfcheck::one_at_a_time();
    let dir = selfcheck::scratch();
    let (service, addr) = day089::start(
        selfcheck::launch,
        Path::new(selfcheck::program!()),
        dir.path(),
    )
    .or_fail();
    let get = |path: &str| http::request(addr, "GET", path, None, Duration::from_secs(10)).unwrap();
    let post = |body: &str| {
        http::request(addr, "POST", "/load", Some(body), Duration::from_secs(10)).unwrap()
    };

    for (body, field) in [
        ("not json", "body"),
        (r#"{"workers": 0, "items": 5}"#, "workers"),
        (r#"{"workers": 2, "items": 1000000}"#, "items"),
        (r#"{"workerz": 2, "items": 5}"#, "workers"),
    ] {
        let r = post(body);
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        assert!(
            r.text().contains(&format!("\"field\":\"{field}\"")),
            "{body}: {}",
            r.text()
        );
    }
    for bad in ["0", "31", "soon", "-1"] {
        let r = get(&format!("/debug/pprof/profile?seconds={bad}"));
        assert_eq!(r.status, 400, "seconds={bad}: {}", r.text());
    }

    // Two captures asked for at once: whichever reaches the guard first runs,
    // the other is refused. (Which one wins is the scheduler's business.)
    let both: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(move || {
                http::request(
                    addr,
                    "GET",
                    "/debug/pprof/profile?seconds=2",
                    None,
                    Duration::from_secs(20),
                )
                .unwrap()
            })
        })
        .collect();
    let mut statuses: Vec<u16> = both.into_iter().map(|t| t.join().unwrap().status).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 409], "two captures at once");

    for path in ["/debug/pprof/block", "/debug/pprof/mutex"] {
        let r = get(path);
        assert_eq!(r.status, 200);
        labkit::profile::decode(Path::new(path), &r.body).unwrap_or_else(|e| panic!("{e}"));
    }
    let tasks = get("/debug/pprof/tasks");
    assert_eq!(tasks.status, 200, "{}", tasks.text());
    assert!(tasks.text().starts_with("# task dump:"), "{}", tasks.text());
    drop(service);
}

/// A client that leaves half-way through a capture: the capture it started
/// runs on, and until it ends a second one is refused with 409 — never a
/// 500 carrying the profiler's own error text.
#[test]
fn a_client_that_leaves_mid_capture_does_not_break_the_next_one() {
    use std::io::Write;
    let _machine = selfcheck::one_at_a_time();
    let dir = selfcheck::scratch();
    let (service, addr) = day089::start(
        selfcheck::launch,
        Path::new(selfcheck::program!()),
        dir.path(),
    )
    .or_fail();
    let mut leaver = std::net::TcpStream::connect(addr).unwrap();
    leaver
        .write_all(b"GET /debug/pprof/profile?seconds=5 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    drop(leaver);
    std::thread::sleep(Duration::from_millis(200));

    // Until the orphaned capture ends: 409; then a capture succeeds.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut refused = 0;
    loop {
        let r = http::request(
            addr,
            "GET",
            "/debug/pprof/profile?seconds=1",
            None,
            Duration::from_secs(20),
        )
        .unwrap();
        assert!(
            !r.text().contains("profiler"),
            "the profiler's own words reached the client: {}",
            r.text()
        );
        match r.status {
            409 => refused += 1,
            200 => break,
            status => panic!(
                "a capture after a client left answered {status}: {}",
                r.text()
            ),
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no capture succeeded in 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(refused > 0, "the orphaned capture did not hold the guard");
    drop(service);
}

/// The threads a process runs now, from `/proc/<pid>/status`.
fn threads_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap()
}

/// More `/load` than the service can take at once: the surplus is told
/// 503 with `Retry-After`, the threads stay bounded, nothing panics.
#[test]
fn load_beyond_the_bound_is_told_503_and_threads_stay_bounded() {
    let _machine = selfcheck::one_at_a_time();
    let dir = selfcheck::scratch();
    let (service, addr) = day089::start(
        selfcheck::launch,
        Path::new(selfcheck::program!()),
        dir.path(),
    )
    .or_fail();
    let idle_threads = threads_of(service.id());
    // 64 senders of 10 000 items each, far more than the pipeline drains
    // in the test's time: every request keeps its threads busy.
    let heavy = r#"{"workers": 64, "items": 10000}"#;
    let answers: Vec<_> = (0..8)
        .map(|_| {
            http::request(addr, "POST", "/load", Some(heavy), Duration::from_secs(10))
                .unwrap_or_else(|e| panic!("POST /load got no answer: {e}"))
        })
        .collect();
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(statuses[..4], [202; 4], "{statuses:?}");
    let refused: Vec<_> = answers.iter().filter(|r| r.status == 503).collect();
    assert_eq!(refused.len(), 4, "{statuses:?}");
    for r in refused {
        assert_eq!(r.header("retry-after"), Some("1"), "{r:?}");
        assert!(r.text().contains("try again later"), "{}", r.text());
    }
    let threads = threads_of(service.id());
    assert!(
        threads <= idle_threads + 256,
        "{threads} threads (idle: {idle_threads})"
    );
    drop(service);
}

#[test]
fn the_book_shows_the_snapshot() {
    selfcheck::assert_book_shows_snapshot(workbook::this_day!(), &[]);
}

/// Set when this test binary runs again as the parent of a service.
const PARENT: &str = "SOLUTION_089_TEST_PARENT";

/// The parent for [`a_service_dies_with_the_test_that_started_it`]: starts
/// the service as any test does, says its pid, and waits to be killed.
#[test]
#[ignore = "run by a_service_dies_with_the_test_that_started_it, as a process of its own"]
fn parent_of_a_service() {
    let Some(dir) = std::env::var_os(PARENT) else {
        return;
    };
    let (service, _addr) = day089::start(
        selfcheck::launch,
        Path::new(selfcheck::program!()),
        Path::new(&dir),
    )
    .or_fail();
    println!("service pid {}", service.id());
    std::thread::sleep(Duration::from_secs(60));
}

/// Whether `pid` still runs (a zombie waiting for its reaper does not).
fn runs(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

/// A test killed half-way (as `timeout` or a CI runner does) runs no
/// destructor, yet the service it started must not outlive it.
#[test]
fn a_service_dies_with_the_test_that_started_it() {
    use std::io::BufRead;
    let dir = selfcheck::scratch();
    let mut parent = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "parent_of_a_service", "--ignored", "--nocapture"])
        .env(PARENT, dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(parent.stdout.take().unwrap()).lines();
    let pid: u32 = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("service pid ").map(|p| p.parse().unwrap()))
        .expect("the parent test started a service");
    assert!(runs(pid));
    parent.kill().unwrap();
    parent.wait().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while runs(pid) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let orphaned = runs(pid);
    if orphaned {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    assert!(
        !orphaned,
        "the service (pid {pid}) outlived the test that started it"
    );
}

/// Told to listen where other machines can reach it, the service says
/// what that exposes before it listens. (An address this machine does not
/// have, so that nothing is exposed and the start fails right after.)
#[test]
fn an_address_beyond_loopback_is_warned_about() {
    let dir = selfcheck::scratch();
    let out = std::process::Command::new(selfcheck::program!())
        .args(["--addr", "192.0.2.1:8089", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: --addr 192.0.2.1:8089 is reachable from other machines"),
        "{stderr}"
    );
    assert!(
        stderr.contains("cannot listen on 192.0.2.1:8089"),
        "{stderr}"
    );
    assert!(!out.status.success());
}

/// Whoever started the service may stop reading its stdout (`| head -1`,
/// a parent that went away): the service goes on serving. With `println!`
/// it died at its second line ("failed printing to stdout").
#[test]
fn a_service_whose_stdout_nobody_reads_keeps_serving() {
    let _machine = selfcheck::one_at_a_time();
    let dir = selfcheck::scratch();
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = free.local_addr().unwrap();
    drop(free);
    // A pipe whose reading end is closed before the service starts.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut service = std::process::Command::new(selfcheck::program!())
        .arg("--out")
        .arg(dir.path())
        .args(["--addr", &addr.to_string()])
        .env(workbook::service::STOP_WITH_STDIN, "1")
        .stdin(std::process::Stdio::piped())
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // An answer comes only once both lines are written: serving starts
    // after them.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let answered = loop {
        if let Ok(r) = http::request(addr, "GET", "/debug/pprof/", None, Duration::from_secs(5)) {
            break Some(r.status);
        }
        if service.try_wait().unwrap().is_some() || std::time::Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let exited = service.try_wait().unwrap();
    drop(service.stdin.take());
    let ended = service.wait_with_output().unwrap();
    assert_eq!(
        (answered, exited),
        (Some(200), None),
        "the service with an unread stdout ended {} and said:\n{}",
        ended.status,
        String::from_utf8_lossy(&ended.stderr)
    );
}
