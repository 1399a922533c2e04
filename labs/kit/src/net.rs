//! Serving connections without spinning or waiting forever: an accept
//! loop that backs off when accepting fails ([`Acceptor`]), and an HTTP
//! server with timeouts for clients that send half a request ([`serve`]).
//!
//! `accept` fails for reasons that last: out of file descriptors (EMFILE,
//! ENFILE) above all, when every connection holds one. Retrying at once
//! fails again at once, and a loop that logs each failure burns a core and
//! floods its log while it achieves nothing. Go's `http.Server.Serve`
//! sleeps after a failed accept, 5 ms doubled at each further failure up
//! to 1 s, and starts over from 5 ms at the next success; [`Acceptor`]
//! does the same, and logs a failure at most once per [`LOG_EVERY`],
//! saying how many it did not print.

#[cfg(feature = "net")]
use std::net::SocketAddr;
use std::time::Duration;
#[cfg(feature = "net")]
use std::time::Instant;

#[cfg(feature = "net")]
use tokio::net::{TcpListener, TcpStream};

/// The first wait after a failed accept; it doubles at each further one.
pub const FIRST_DELAY: Duration = Duration::from_millis(5);
/// The longest wait between two attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(1);
/// At most one log line per this long about failing accepts.
pub const LOG_EVERY: Duration = Duration::from_secs(1);

/// A listener whose [`accept`](Acceptor::accept) waits and retries, never
/// spins, when accepting fails.
#[cfg(feature = "net")]
pub struct Acceptor {
    listener: TcpListener,
    delay: Option<Duration>,
    last_log: Option<Instant>,
    unlogged: u64,
}

#[cfg(feature = "net")]
impl Acceptor {
    pub fn new(listener: TcpListener) -> Acceptor {
        Acceptor {
            listener,
            delay: None,
            last_log: None,
            unlogged: 0,
        }
    }

    /// The next connection. A failed accept is logged (see [`LOG_EVERY`]),
    /// waited out and retried.
    pub async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            match self.listener.accept().await {
                Ok(accepted) => {
                    self.delay = None;
                    return accepted;
                }
                Err(e) => {
                    let delay = self.delay.map_or(FIRST_DELAY, |d| (d * 2).min(MAX_DELAY));
                    self.delay = Some(delay);
                    self.log(&e, delay);
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    fn log(&mut self, e: &std::io::Error, delay: Duration) {
        let now = Instant::now();
        if self.last_log.is_some_and(|at| now < at + LOG_EVERY) {
            self.unlogged += 1;
            return;
        }
        let unlogged = std::mem::take(&mut self.unlogged);
        let more = if unlogged > 0 {
            format!(" ({unlogged} more since the last line)")
        } else {
            String::new()
        };
        eprintln!("accept failed: {e}; retrying in {delay:?}{more}");
        self.last_log = Some(now);
    }
}

/// How long a service waits for a client, and how much it reads.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// From a connection's first byte of a request head (or from the end of
    /// the last answer, on a kept-alive connection) to the end of the head.
    /// Go's `ReadHeaderTimeout`; a client that never finishes its headers
    /// is disconnected.
    pub header: Duration,
    /// To receive the whole body once the head is in: `408 Request
    /// Timeout` after that.
    pub body: Duration,
    /// The largest body read: `413 Payload Too Large` beyond.
    pub max_body: usize,
    /// For the handler to answer once the request is in: `503 Service
    /// Unavailable` after that, as Go's `http.TimeoutHandler` answers. It
    /// must exceed the longest answer the service means to give.
    pub handler: Duration,
}

impl Limits {
    /// Five seconds for the head and for the body, 64 KiB of body, and
    /// `handler` for the answer.
    pub fn new(handler: Duration) -> Limits {
        Limits {
            header: Duration::from_secs(5),
            body: Duration::from_secs(5),
            max_body: 64 * 1024,
            handler,
        }
    }
}

/// How long requests in flight get to finish once a stop is asked for:
/// captures and traces end at once ([`crate::shutdown`]) and answer 503;
/// the rest finish or are cut when it is over.
pub const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// Serves `router` on `listener` until `shutdown` completes, over HTTP/1.1
/// with `limits`: no client can hold a connection by sending half a
/// request, and a failing accept is waited out ([`Acceptor`]). Stopping
/// closes the listener, cancels captures ([`crate::shutdown::request`]),
/// and gives the requests in flight [`SHUTDOWN_GRACE`] to answer before
/// it returns.
#[cfg(feature = "endpoints")]
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut acceptor = Acceptor::new(listener);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let stream = tokio::select! {
            (stream, _) = acceptor.accept() => stream,
            () = &mut shutdown => break,
        };
        // Finished connections are let go as new ones come.
        while connections.try_join_next().is_some() {}
        let router = router.clone();
        connections.spawn(async move {
            let service =
                hyper::service::service_fn(move |request| answer(router.clone(), limits, request));
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(limits.header)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
    drop(acceptor);
    crate::shutdown::request();
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    // Whatever is left is cut as `connections` drops.
}

/// Completes on the first SIGTERM or SIGINT (Ctrl-C), for [`serve`]'s
/// `shutdown`. From then on a second one ends the process at once, by the
/// signal's default action, whatever is still running.
#[cfg(feature = "endpoints")]
pub async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // No signal handling: run until killed.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    default_action_for_stop_signals();
}

/// Puts SIGTERM and SIGINT back to their default action (end the process).
#[cfg(feature = "endpoints")]
#[allow(unsafe_code)]
fn default_action_for_stop_signals() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: SIG_DFL is a valid disposition for these signals; tokio's
        // handler is replaced, and tokio only ever reads the pipe it wrote.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
        }
    }
}

/// Reads the request's body within the limits, then lets `router` answer
/// within its time.
#[cfg(feature = "endpoints")]
async fn answer(
    router: axum::Router,
    limits: Limits,
    request: axum::http::Request<hyper::body::Incoming>,
) -> Result<axum::response::Response, std::convert::Infallible> {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use http_body_util::{BodyExt, LengthLimitError, Limited};
    use tower::ServiceExt;

    let refuse = |status: StatusCode, message: String| {
        Ok((status, axum::Json(serde_json::json!({ "error": message }))).into_response())
    };
    let (head, body) = request.into_parts();
    let read = tokio::time::timeout(limits.body, Limited::new(body, limits.max_body).collect());
    let body = match read.await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {} bytes", limits.max_body),
            );
        }
        Ok(Err(e)) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("cannot read the body: {e}"),
            );
        }
        Err(_) => {
            return refuse(
                StatusCode::REQUEST_TIMEOUT,
                format!("the body did not arrive within {:?}", limits.body),
            );
        }
    };
    let request = axum::http::Request::from_parts(head, axum::body::Body::from(body));
    match tokio::time::timeout(limits.handler, router.oneshot(request)).await {
        Ok(response) => response,
        Err(_) => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("no answer within {:?}", limits.handler),
        ),
    }
}

/// A server on a free port of 127.0.0.1, in a thread of its own with its
/// own tokio runtime, for tests and benchmarks that talk to a service
/// over real sockets. Dropping it stops the server (the accept loop ends;
/// requests in flight are cut, as with [`serve`]).
#[cfg(feature = "endpoints")]
pub struct Background {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[cfg(feature = "endpoints")]
impl Background {
    /// Binds 127.0.0.1 on a port the kernel picks and serves `router` with
    /// `limits` on a runtime of `workers` threads (0: the current-thread
    /// runtime).
    pub fn start(
        router: axum::Router,
        limits: Limits,
        workers: usize,
    ) -> Result<Background, crate::Error> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| crate::Error::new(format!("cannot bind 127.0.0.1:0: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| crate::Error::new(format!("cannot read the bound address: {e}")))?;
        let mut builder = if workers == 0 {
            tokio::runtime::Builder::new_current_thread()
        } else {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(workers);
            b
        };
        // Tasks dumped from this server say where they were spawned.
        #[cfg(feature = "tasks")]
        crate::goroutine::record_spawns(&mut builder);
        let runtime = builder
            .enable_all()
            .build()
            .map_err(|e| crate::Error::new(format!("cannot start a tokio runtime: {e}")))?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("labkit-test-server".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(listener) else {
                        return;
                    };
                    serve(listener, router, limits, async {
                        let _ = stopped.await;
                    })
                    .await;
                });
                // A capture or trace still running in a blocking thread
                // must not hold the test up: leave it behind.
                runtime.shutdown_background();
            })
            .map_err(|e| crate::Error::new(format!("cannot spawn the server thread: {e}")))?;
        Ok(Background {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

#[cfg(feature = "endpoints")]
impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
