//! The service Day 089 profiles while it runs: the Go seeds' contention
//! demo in Rust. `POST /load` feeds a pipeline of worker threads (a work
//! channel with room for two items, a rendezvous result channel, a slow
//! consumer, shared statistics under a lock); `GET /stats` reports on it.
//!
//! None of this is the day's pitfall: it is the workload whose profiles
//! the lab and its solution serve, kept here once so that the two differ
//! only in the lesson. Its locks and channels are labkit's, so the block
//! and mutex profiles see them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use labkit::contention::{Mutex, Receiver, Sender, bounded};
use serde_json::{Value, json};

/// Starts the pipeline's threads and gives the routes that drive it:
/// `POST /load` and `GET /stats`.
pub fn router() -> Router {
    Router::new()
        .route("/load", post(load))
        .route("/stats", get(stats))
        .with_state(Arc::new(start_pipeline()))
}

/// What the HTTP handlers share with the pipeline.
struct App {
    work: Sender<Job>,
    stats: Arc<Mutex<Stats>>,
    queued: Arc<AtomicU64>,
    /// Sender threads running for `/load`: at most [`MAX_SENDERS`].
    senders: Arc<AtomicU64>,
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

/// A 400 that names the field at fault.
fn bad_request(field: &'static str, message: String) -> Response {
    let body = json!({ "error": message, "field": field });
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
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
        Err(e) => return bad_request("body", format!("the body is not JSON: {e}")),
    };
    // The field at fault and what would be valid.
    let number = |field: &'static str, max: u64| -> Result<u64, (&'static str, String)> {
        match request.get(field).and_then(Value::as_u64) {
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(n) => Err((field, format!("{field} is {n}: expected 1 to {max}"))),
            None => Err((
                field,
                format!("{field} is missing or not a whole number: expected 1 to {max}"),
            )),
        }
    };
    let (workers, items) = match (number("workers", 64), number("items", 10_000)) {
        (Ok(w), Ok(i)) => (w, i),
        (Err((field, message)), _) | (_, Err((field, message))) => {
            return bad_request(field, message);
        }
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
