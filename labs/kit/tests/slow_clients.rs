//! `labkit::net::serve` does not wait forever on clients that send half a
//! request: half a head is disconnected after `Limits::header`, half a body
//! answered 408 after `Limits::body`, while other clients are served. The
//! limits here are short so the test takes a second; Day 089's service
//! uses the same server with the defaults.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use labkit::net::{Limits, serve};

fn start(limits: Limits) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let router = axum::Router::new()
                .route("/stats", axum::routing::get(|| async { "ok" }))
                .route(
                    "/load",
                    axum::routing::post(|body: String| async move { body }),
                );
            serve(listener, router, limits, async {
                let _ = stopped.await;
            })
            .await;
        });
    });
    (addr, stop)
}

#[test]
fn half_sent_requests_time_out() {
    let limits = Limits {
        header: Duration::from_millis(300),
        body: Duration::from_millis(300),
        ..Limits::new(Duration::from_secs(5))
    };
    let (addr, _stop) = start(limits);
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
