//! A goroutine dump must not stall the service it is taken from: Day 089's
//! HTTP side runs on one thread, and a dump that walked every thread on
//! that thread would freeze `/stats` for as long as it takes.
//!
//! The dump is made slow on purpose, by a thread that never answers its
//! signal (blocked): the dump waits `ANSWER_WITHIN` for it. While it waits
//! (the signal is seen pending on that thread), `/stats` on the same
//! one-thread server must answer before the dump does.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use labkit::net::{Background, Limits};
use labkit::thread_dump::SIGNAL;

/// Whether `SIGNAL` is pending on thread `tid` (the kernel's `SigPnd` mask,
/// bit `SIGNAL - 1`).
fn pending(tid: i32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).unwrap();
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("SigPnd:"))
        .map(|m| u64::from_str_radix(m.trim(), 16).unwrap())
        .unwrap();
    mask & (1 << (SIGNAL - 1)) != 0
}

#[test]
fn stats_answers_while_a_dump_waits_for_a_thread() {
    let (ready_tx, ready_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let deaf = std::thread::spawn(move || {
        // SAFETY: blocks one signal on this thread only; the set is a
        // zeroed sigset_t initialised by sigemptyset before use.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, SIGNAL);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        }
        // SAFETY: gettid has no preconditions.
        ready_tx.send(unsafe { libc::gettid() }).unwrap();
        let _ = stop_rx.recv();
    });
    let tid = ready_rx.recv().unwrap();

    let router = Router::new()
        .route("/stats", get(|| async { "ok" }))
        .merge(labkit::endpoints::router(10));
    // One worker thread for the HTTP side, as Day 089's service has.
    let server = Background::start(router, Limits::new(Duration::from_secs(30)), 0).unwrap();
    let addr = server.addr();
    let dumped = Arc::new(AtomicBool::new(false));
    let dump = {
        let dumped = dumped.clone();
        std::thread::spawn(move || {
            let answer = labkit::http::request(
                addr,
                "GET",
                "/debug/pprof/goroutine?debug=2",
                None,
                Duration::from_secs(60),
            );
            dumped.store(true, Ordering::SeqCst);
            answer.unwrap()
        })
    };
    // The dump has asked the deaf thread and waits for it.
    let started = Instant::now();
    while !pending(tid) {
        assert!(
            !dumped.load(Ordering::SeqCst),
            "the dump finished without signalling the deaf thread"
        );
        assert!(started.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(1));
    }
    let stats = labkit::http::request(addr, "GET", "/stats", None, Duration::from_secs(60));
    let dump_done_first = dumped.load(Ordering::SeqCst);
    let stats = stats.unwrap();
    assert_eq!(stats.status, 200);
    assert!(
        !dump_done_first,
        "/stats answered only after the dump: the dump held the serving thread"
    );
    let dump = dump.join().unwrap();
    assert_eq!(dump.status, 200);
    assert!(dump.text().contains("stack unavailable"), "{}", dump.text());
    stop_tx.send(()).unwrap();
    deaf.join().unwrap();
}
