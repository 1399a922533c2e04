//! Day 089, live profiling a tokio service: the lab.
//!
//! The Go seeds' service in Rust: `POST /load` feeds a pipeline of worker
//! threads (a work channel with room for two items, a rendezvous result
//! channel, a slow consumer, shared statistics under a lock), `GET /stats`
//! reports on it, and `/debug/pprof/*` serves profiles of the live process:
//! CPU, heap, block, mutex, a task dump and a trace, listed at
//! `/debug/pprof/`. The HTTP side runs on one thread — a
//! small service's usual runtime — so whatever blocks that thread stalls
//! every request.
//!
//! Run it (`cargo run -p lab-089`), drive it (`cargo run -p loadgen --
//! --scenario normal`), and take a profile while watching `/stats`. Then
//! self-check with `cargo test -p lab-089`. The page is `book/day-089.md`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use labkit::Error;
use labkit::capture::Capture;
use labkit::contention::{self, Mutex, Receiver, Sender, bounded};
use serde_json::{Value, json};
use workbook::days::day089;

// jemalloc as the allocator, for its sampling heap profiler: what
// `/debug/pprof/heap` serves.
#[global_allocator]
static ALLOC: live_heap::Jemalloc = live_heap::Jemalloc;

/// What the service shares between its HTTP handlers and its pipeline.
struct App {
    work: Sender<Job>,
    stats: Arc<Mutex<Stats>>,
    queued: Arc<AtomicU64>,
    /// Sender threads running for `/load`: at most [`MAX_SENDERS`].
    senders: Arc<AtomicU64>,
    /// Set while a CPU profile is being taken: one at a time.
    profiling: Flag,
}

struct Job {
    enqueued: Instant,
    value: u64,
}

#[derive(Default)]
struct Stats {
    processed: u64,
    in_flight: u64,
    /// The last 1 000 items' time through the pipeline, in µs.
    latencies_us: Vec<u64>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (_out_dir, flags) = workbook::this_day!().args::<day089::Flags>();
    let addr = flags.addr();
    // Off by default, like Go's; a service that serves these endpoints
    // turns them on at a rate it can afford (Day 085).
    contention::set_block_profile_rate(10_000)?;
    contention::set_mutex_profile_fraction(10)?;
    // Spans cost next to nothing until `/debug/pprof/trace` records them.
    labkit::endpoints::install_tracing()?;

    let app = Arc::new(start_pipeline());
    let router = Router::new()
        .route("/load", post(load))
        .route("/stats", get(stats))
        .route("/debug/pprof/profile", get(cpu_profile))
        .with_state(app)
        // The index, heap, block, mutex, tasks and trace: labkit's.
        .merge(labkit::endpoints::router(day089::MAX_SECONDS));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::io(format!("cannot listen on {addr}"), e))?;
    let bound: SocketAddr = listener
        .local_addr()
        .map_err(|e| Error::io("cannot read the listening address", e))?;
    println!("service listening on {bound} (pid {})", std::process::id());
    println!("try: go tool pprof -top 'http://{bound}/debug/pprof/profile?seconds=5'");
    // With timeouts, so that no client holds a connection by sending half
    // a request.
    labkit::net::serve(listener, router, day089::limits(), stop_signal()).await;
    Ok(())
}

async fn stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM can be watched");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

// ANCHOR: pipeline
fn start_pipeline() -> App {
    let (work, jobs) = bounded::<Job>(2);
    let (done, results) = bounded::<Job>(0);
    let stats = Arc::new(Mutex::new(Stats::default()));
    let queued = Arc::new(AtomicU64::new(0));
    for i in 0..4 {
        let (jobs, done, stats, queued) =
            (jobs.clone(), done.clone(), stats.clone(), queued.clone());
        thread::Builder::new()
            .name(format!("worker-{i}"))
            .spawn(move || worker(&jobs, &done, &stats, &queued))
            .expect("spawn a worker");
    }
    let consumer_stats = stats.clone();
    thread::Builder::new()
        .name("consumer".into())
        .spawn(move || consume(&results, &consumer_stats))
        .expect("spawn the consumer");
    App {
        work,
        stats,
        queued,
        senders: Arc::default(),
        profiling: Flag::default(),
    }
}

fn worker(jobs: &Receiver<Job>, done: &Sender<Job>, stats: &Mutex<Stats>, queued: &AtomicU64) {
    for mut job in jobs {
        queued.fetch_sub(1, Ordering::Relaxed);
        let _span = tracing::info_span!("work", value = job.value).entered();
        stats.lock().in_flight += 1;
        job.value = labkit::work::burn(1, job.value);
        if done.send(job).is_err() {
            return;
        }
    }
}

fn consume(results: &Receiver<Job>, stats: &Mutex<Stats>) {
    for job in results {
        let _span = tracing::info_span!("consume").entered();
        thread::sleep(Duration::from_millis(1)); // a slow sink
        let mut s = stats.lock();
        s.in_flight -= 1;
        s.processed += 1;
        if s.latencies_us.len() == 1_000 {
            s.latencies_us.remove(0);
        }
        s.latencies_us
            .push(job.enqueued.elapsed().as_micros() as u64);
    }
}
// ANCHOR_END: pipeline

/// A 400 answer that names the field at fault.
struct BadRequest {
    field: &'static str,
    message: String,
}

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.message, "field": self.field });
        (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
    }
}

fn bad_request(field: &'static str, message: String) -> BadRequest {
    BadRequest { field, message }
}

/// How many sender threads `/load` runs at once, all requests together.
/// Each is an OS thread blocked on the work channel until the pipeline
/// takes its items; without a bound a burst of requests piles up threads
/// until the process cannot start one more.
const MAX_SENDERS: u64 = 256;

/// `POST /load {"workers": W, "items": N}`: W sender threads put N items
/// each into the work channel, as the Go seed's goroutines do.
async fn load(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad_request("body", format!("the body is not JSON: {e}")).into_response(),
    };
    let number = |field: &'static str, max: u64| -> Result<u64, BadRequest> {
        match request.get(field).and_then(Value::as_u64) {
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(n) => Err(bad_request(
                field,
                format!("{field} is {n}: expected 1 to {max}"),
            )),
            None => Err(bad_request(
                field,
                format!("{field} is missing or not a whole number: expected 1 to {max}"),
            )),
        }
    };
    let (workers, items) = match (number("workers", 64), number("items", 10_000)) {
        (Ok(w), Ok(i)) => (w, i),
        (Err(r), _) | (_, Err(r)) => return r.into_response(),
    };
    // A full service says so, and when to come back, instead of starting
    // threads it cannot afford.
    let Some(seats) = Seat::take(&app.senders, workers) else {
        return busy(format!(
            "{MAX_SENDERS} sender threads are already running; try again later"
        ));
    };
    for (w, seat) in (0..workers).zip(seats) {
        let (work, queued) = (app.work.clone(), app.queued.clone());
        let spawned = thread::Builder::new().spawn(move || {
            let _seat = seat;
            for n in 0..items {
                queued.fetch_add(1, Ordering::Relaxed);
                let job = Job {
                    enqueued: Instant::now(),
                    value: w * 1_000_003 + n,
                };
                if work.send(job).is_err() {
                    return;
                }
            }
        });
        if let Err(e) = spawned {
            eprintln!("POST /load: cannot start a sender thread: {e}");
            return busy("the service cannot start another thread now; try again later".into());
        }
    }
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({ "workers": workers, "items": items })),
    )
        .into_response()
}

/// A sender thread's place among the [`MAX_SENDERS`], given back when the
/// thread ends (or was never started).
struct Seat(Arc<AtomicU64>);

impl Seat {
    /// `n` seats at once, or none when fewer are free.
    fn take(senders: &Arc<AtomicU64>, n: u64) -> Option<Vec<Seat>> {
        senders
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |running| {
                (running + n <= MAX_SENDERS).then_some(running + n)
            })
            .ok()?;
        Some((0..n).map(|_| Seat(senders.clone())).collect())
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// `503 Service Unavailable` with `Retry-After`: the request was fine, the
/// service is full.
fn busy(message: String) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "1")],
        axum::Json(json!({ "error": message })),
    )
        .into_response()
}

async fn stats(State(app): State<Arc<App>>) -> Response {
    let s = app.stats.lock();
    let mut sorted = s.latencies_us.clone();
    sorted.sort_unstable();
    let pick = |q: f64| {
        sorted
            .get(((q * sorted.len() as f64).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |us| *us as f64 / 1000.0)
    };
    axum::Json(json!({
        "queue_depth": app.queued.load(Ordering::Relaxed),
        "processed": s.processed,
        "in_flight": s.in_flight,
        "p50_ms": pick(0.5),
        "p99_ms": pick(0.99),
    }))
    .into_response()
}

fn seconds(query: &HashMap<String, String>) -> Result<u64, BadRequest> {
    let text = query.get("seconds").map_or("30", String::as_str);
    match text.parse::<u64>() {
        Ok(n) if (1..=day089::MAX_SECONDS).contains(&n) => Ok(n),
        _ => Err(bad_request(
            "seconds",
            format!(
                "seconds={text:?}: expected a whole number from 1 to {}",
                day089::MAX_SECONDS
            ),
        )),
    }
}

// ANCHOR: profile
/// `GET /debug/pprof/profile?seconds=N`: a CPU profile of the live
/// process, as gzipped pprof.
async fn cpu_profile(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let seconds = match seconds(&query) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    // One capture at a time, as Go's "profiling already in use".
    let Some(capturing) = OneAtATime::take(&app.profiling) else {
        return (
            StatusCode::CONFLICT,
            axum::Json(json!({ "error": "a CPU profile is already being taken; try again later" })),
        )
            .into_response();
    };
    // The capture sleeps for `seconds` before it has anything to send.
    let result = capture(seconds, capturing);
    match result {
        Ok(bytes) => pprof_response(bytes),
        Err(e) => capture_failed(&e),
    }
}
// ANCHOR_END: profile

/// The "capture running" flag, raised while a [`OneAtATime`] lives.
type Flag = Arc<AtomicBool>;

/// Holds the "capture running" flag and lowers it when dropped. The
/// capture owns it, not the request: a client that leaves half-way drops
/// its request, but the capture it started runs on to the end, and until
/// then a second one must still be refused.
struct OneAtATime(Flag);

impl OneAtATime {
    fn take(flag: &Flag) -> Option<OneAtATime> {
        (!flag.swap(true, Ordering::AcqRel)).then(|| OneAtATime(flag.clone()))
    }
}

impl Drop for OneAtATime {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Profiles the whole process for `seconds` and encodes the result,
/// holding `_capturing` until it is done.
fn capture(seconds: u64, _capturing: OneAtATime) -> Result<Vec<u8>, Error> {
    let capture = Capture::start()?;
    thread::sleep(Duration::from_secs(seconds));
    let profile = capture.stop()?;
    let mut bytes = Vec::new();
    profile
        .write_pprof(&mut bytes)
        .map_err(|e| Error::io("cannot encode the CPU profile", e))?;
    Ok(bytes)
}

/// A 500 that says what failed, not how: the profiler's own words go to
/// the service's log, never to a client.
fn capture_failed(error: &Error) -> Response {
    eprintln!("the CPU profile failed: {error}");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(
            json!({ "error": "the CPU profile could not be taken; the service's log says why" }),
        ),
    )
        .into_response()
}

fn pprof_response(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}
