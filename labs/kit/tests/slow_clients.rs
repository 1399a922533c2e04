//! `labkit::net::serve` does not wait forever on clients that send half a
//! request: half a head is disconnected after `Limits::header`, half a body
//! answered 408 after `Limits::body`, while other clients are served. The
//! limits here are short so the test takes a second; Day 089's service
//! uses the same server with the defaults.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use labkit::net::{Background, Limits};

fn start(limits: Limits) -> Background {
    let router = axum::Router::new()
        .route("/stats", axum::routing::get(|| async { "ok" }))
        .route(
            "/load",
            axum::routing::post(|body: String| async move { body }),
        );
    Background::start(router, limits, 0).unwrap()
}

#[test]
fn half_sent_requests_time_out() {
    let limits = Limits {
        header: Duration::from_millis(300),
        body: Duration::from_millis(300),
        ..Limits::new(Duration::from_secs(5))
    };
    let server = start(limits);
    let addr = server.addr();
    let open = |request: &[u8]| {
        let mut stream = TcpStream::connect(addr).unwrap();
        // Far beyond the limits: a read that times out is the server
        // waiting on the client.
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(request).unwrap();
        stream
    };
    let started = Instant::now();
    let half_heads: Vec<_> = (0..20)
        .map(|_| open(b"GET /stats HTTP/1.1\r\nHost: x\r\n"))
        .collect();
    let mut half_body = open(
        b"POST /load HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n\
          Content-Length: 100\r\n\r\n{\"workers\": 1,",
    );
    // Meanwhile, others are served.
    let stats =
        labkit::http::request(addr, "GET", "/stats", None, Duration::from_secs(10)).unwrap();
    assert_eq!(stats.status, 200);

    let mut answer = String::new();
    half_body
        .read_to_string(&mut answer)
        .unwrap_or_else(|e| panic!("half a body was still waited for: {e}"));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    for mut stream in half_heads {
        let mut rest = Vec::new();
        let read = stream.read_to_end(&mut rest);
        assert!(
            read.is_ok(),
            "half a head was still waited for after {:?}: {read:?}",
            started.elapsed()
        );
    }
    assert!(started.elapsed() < Duration::from_secs(10));
}
