//! A stop signal ends the service promptly, captures included.
//!
//! Before, SIGTERM with a 30 s CPU capture running closed the listener,
//! cut every request in flight (the capture's client got no answer at all)
//! and left the process alive until the capture's sleep ended: 5.5 to
//! 19.7 s measured, up to 30. Now the capture is cancelled and answers 503
//! with the reason, and the process exits well within a second (the
//! bound asserted is 3 s, a wide margin for a slow or busy machine); a
//! second signal ends it at once.

use std::path::Path;
use std::time::{Duration, Instant};

use selfcheck::OrFail;
use workbook::days::day089;

/// Waits for the service to exit; how long it took.
fn exit_time(service: &mut Box<dyn workbook::service::Service>, since: Instant) -> Duration {
    while service.exited().is_none() {
        assert!(
            since.elapsed() < Duration::from_secs(60),
            "the service still runs 60 s after the signal"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    since.elapsed()
}

#[test]
fn sigterm_cancels_a_capture_and_exits_promptly() {
    let _machine = selfcheck::one_at_a_time();
    let dir = selfcheck::scratch();
    let (mut service, addr) = day089::start(
        selfcheck::launch,
        Path::new(selfcheck::program!()),
        dir.path(),
    )
    .or_fail();
    let capture = std::thread::spawn(move || {
        labkit::http::request(
            addr,
            "GET",
            "/debug/pprof/profile?seconds=30",
            None,
            Duration::from_secs(60),
        )
    });
    // The capture is running once a thread of the service waits in it:
    // the service's own goroutine dump says so.
    let started = Instant::now();
    loop {
        let dump = labkit::http::request(
            addr,
            "GET",
            "/debug/pprof/goroutine?debug=2",
            None,
            Duration::from_secs(60),
        )
        .unwrap();
        if dump.text().contains("labkit::shutdown::sleep") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no capture started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let signalled = Instant::now();
    service.signal("TERM").unwrap();
    let took = exit_time(&mut service, signalled);
    let answer = capture
        .join()
        .unwrap()
        .expect("the capture's client gets an answer");
    assert_eq!(answer.status, 503, "{}", answer.text());
    assert!(answer.text().contains("shutting down"), "{}", answer.text());
    eprintln!("exited {took:?} after SIGTERM with a 30 s capture running");
    assert!(
        took < Duration::from_secs(3),
        "exited {took:?} after SIGTERM"
    );
}
