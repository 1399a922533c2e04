//! The `/debug/pprof/` endpoints a service mounts beside its own, modelled
//! on Go's `net/http/pprof`: an index, a live heap profile, a trace of the
//! service's spans, block and mutex profiles (cumulative, or the change
//! over `?seconds=N`) and a task dump (`?debug=1` grouped, `?debug=2`
//! every task). The CPU profile stays in the service: how it is taken is
//! Day 089's lesson.
//!
//! Anything that takes time — waiting `seconds`, writing the heap dump —
//! runs off the runtime's thread or in a timer, never blocking it.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Query;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tracing_subscriber::{Registry, reload};

use crate::contention;
use crate::profile::Recorded;
use crate::tasks;

/// One line per endpoint: what it gives and how to read it.
pub const INDEX: &str = "\
/debug/pprof/ — profiles of this running process
(pprof files: `go tool pprof -top URL`, or `-http=: URL` for a browser view)

profile?seconds=N  CPU profile over N seconds (default 30). pprof: -top for the hottest functions.
heap               memory in use and allocated since the start, per allocating stack, sampled by
                   jemalloc about once per 512 KiB allocated (Go's four types). pprof: -top shows
                   inuse_space; -sample_index=alloc_space for all allocations; compare with -base.
allocs             the same profile, alloc_space first. pprof: -top.
block?seconds=N    where threads waited on channels and locks, total wait per stack since the start,
                   or only the last N seconds with ?seconds=N. pprof: -top.
mutex?seconds=N    where contended locks were held, making others wait; cumulative, or the last N
                   seconds with ?seconds=N. pprof: -top.
goroutine?debug=N  every OS thread and tokio task with its stack and state, as Go's goroutine
                   profile: debug=0 (or none) pprof (pprof: -top, -traces), debug=1 counted by
                   stack, debug=2 one entry per thread or task. Plain text for 1 and 2.
threadcreate       the stacks that created this process's threads, counted (Go's own profile has
                   recorded almost none for years: golang/go#6104). pprof: -top, -traces;
                   debug=1 for text.
tasks?debug=1|2    the runtime's tasks and where each is awaiting: debug=1 counts them by stack,
                   debug=2 (or none) prints every task. Plain text.
trace?seconds=N    the service's spans over N seconds (default 1), Chrome trace JSON: open it in
                   https://ui.perfetto.dev. One at a time.
";

/// The routes under `/debug/pprof/` other than `profile`. `max_seconds`
/// bounds every `?seconds=N`: it must stay below the server's handler
/// timeout.
pub fn router(max_seconds: u64) -> Router {
    let seconds = Arc::new(Limits {
        max_seconds,
        tracing: OneAtATime::default(),
    });
    Router::new()
        .route("/debug/pprof/", get(index))
        .route("/debug/pprof/heap", get(|q| heap(q, "")))
        .route("/debug/pprof/allocs", get(|q| heap(q, "alloc_space")))
        .route(
            "/debug/pprof/block",
            get({
                let s = seconds.clone();
                move |q| contention_profile(s, q, contention::block_profile)
            }),
        )
        .route(
            "/debug/pprof/mutex",
            get({
                let s = seconds.clone();
                move |q| contention_profile(s, q, contention::mutex_profile)
            }),
        )
        .route("/debug/pprof/goroutine", get(goroutine))
        .route("/debug/pprof/threadcreate", get(threadcreate))
        .route("/debug/pprof/tasks", get(task_dump))
        .route("/debug/pprof/trace", get(move |q| trace(seconds, q)))
}

struct Limits {
    max_seconds: u64,
    /// One trace at a time.
    tracing: OneAtATime,
}

type Params = Query<HashMap<String, String>>;

/// The `debug` parameter of a dump endpoint: one of `allowed`, `default`
/// when it is absent, or the message of a 400 that says what `expected` is.
fn debug_level(
    query: &HashMap<String, String>,
    default: u8,
    allowed: &[u8],
    expected: &str,
) -> Result<u8, String> {
    let Some(given) = query.get("debug") else {
        return Ok(default);
    };
    given
        .parse::<u8>()
        .ok()
        .filter(|level| allowed.contains(level))
        .ok_or_else(|| format!("debug={given:?}: expected {expected}"))
}

async fn index() -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], INDEX).into_response()
}

// The pieces a service's own profile endpoints are made of: what answers
// a bad parameter, a busy profiler, a failure, a profile.

/// A 400 that names the parameter at fault and what would be valid.
pub fn bad_request(field: &str, message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "error": message, "field": field })),
    )
        .into_response()
}

/// An answer with `status` and `{"error": message}`.
pub fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

/// `?seconds=N`: absent gives `default`; anything but a whole number from
/// 1 to `max` is refused, with a message naming what would be valid.
pub fn seconds(
    query: &HashMap<String, String>,
    default: Option<u64>,
    max: u64,
) -> Result<Option<u64>, String> {
    let Some(text) = query.get("seconds") else {
        return Ok(default);
    };
    match text.parse::<u64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
        _ => Err(format!(
            "seconds={text:?}: expected a whole number from 1 to {max}"
        )),
    }
}

/// The CPU profile a service's own `/debug/pprof/profile` took, as the
/// answer; or a 500 that says what failed, not how: the profiler's own
/// words go to the service's log, never to a client.
pub fn cpu_profile_or_500(result: Result<Vec<u8>, crate::Error>) -> Response {
    give_back_freed_memory();
    match result {
        Ok(bytes) => pprof(bytes),
        // Cut short by a stop: the client hears why, with a 503.
        Err(e) if e.to_string() == crate::shutdown::CANCELLED => {
            error(StatusCode::SERVICE_UNAVAILABLE, crate::shutdown::CANCELLED)
        }
        Err(e) => {
            eprintln!("the CPU profile failed: {e}");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the CPU profile could not be taken; the service's log says why",
            )
        }
    }
}

/// A gzipped pprof profile as the answer.
pub fn pprof(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}

/// A flag raised while one capture runs: a second one is refused until
/// the [`Capturing`] guard of the first is dropped. The capture owns the
/// guard, not the request: a client that leaves half-way drops its request,
/// but the capture it started runs on to its end, and until then a second
/// one must still be refused (Go answers "profiling already in use").
#[derive(Debug, Default, Clone)]
pub struct OneAtATime(Arc<AtomicBool>);

/// Held while a capture runs; see [`OneAtATime`].
#[derive(Debug)]
pub struct Capturing(Arc<AtomicBool>);

impl OneAtATime {
    /// The guard, unless a capture is already running.
    pub fn take(&self) -> Option<Capturing> {
        (!self.0.swap(true, Ordering::AcqRel)).then(|| Capturing(self.0.clone()))
    }
}

impl Drop for Capturing {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

// ANCHOR: heap
/// `GET /debug/pprof/heap` and `/allocs`: jemalloc's sampled record of
/// the memory in use now and of everything allocated since the start, as
/// Go's heap profile (`alloc_objects`, `alloc_space`, `inuse_objects`,
/// `inuse_space`). The two URLs serve the same profile, as Go's do; only
/// the type pprof shows first differs (`inuse_space` for `heap`,
/// `alloc_space` for `allocs`). jemalloc records a stack about once per
/// 512 KiB allocated and each sample is scaled up, so the figures are
/// estimates, cheap enough to leave on in a running service.
async fn heap(Query(query): Params, default_type: &'static str) -> Response {
    if let Some(debug) = query.get("debug").filter(|d| *d != "0") {
        return bad_request(
            "debug",
            format!(
                "debug={debug:?}: this heap profile is served as pprof only (debug=0, or no \
                 debug); read it with `go tool pprof -top URL`"
            ),
        );
    }
    let Some(ctl) = jemalloc_pprof::PROF_CTL.as_ref() else {
        return error(
            StatusCode::NOT_IMPLEMENTED,
            "jemalloc's heap profiler is off: the program must make live_heap::Jemalloc its \
             global allocator (the live-heap crate starts jemalloc with prof:true)",
        );
    };
    let ctl = ctl.clone();
    // jemalloc writes the dump to a file, which is then read, named and
    // encoded: file work and symbolising, so off the runtime's thread.
    let dumped = tokio::task::spawn_blocking(move || {
        let dump = ctl
            .blocking_lock()
            .dump()
            .map_err(|e| format!("jemalloc could not write its dump: {e:#}"))?;
        let text = std::io::read_to_string(dump)
            .map_err(|e| format!("cannot read jemalloc's dump back: {e}"))?;
        let dump = crate::jemalloc_heap::parse(&text, "jemalloc's heap dump")?;
        let bytes = crate::jemalloc_heap::to_pprof(&dump, default_type);
        give_back_freed_memory();
        bytes
    })
    .await;
    match dumped {
        Ok(Ok(bytes)) => pprof(bytes),
        Ok(Err(e)) => {
            eprintln!("the heap profile failed: {e}");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the heap profile could not be taken; the service's log says why",
            )
        }
        Err(e) => {
            eprintln!("the heap profile task failed: {e}");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the heap profile task failed",
            )
        }
    }
}
// ANCHOR_END: heap

/// Returns the pages jemalloc holds free to the system (`arena.<all>.purge`).
/// Naming a profile's stacks loads the program's debug information, tens
/// of MB, freed as soon as the profile is written; without a purge jemalloc
/// keeps those pages for reuse, and an idle service, which allocates
/// nothing that would let them decay, would keep them for good: its
/// resident memory would show the profiler, not the service.
pub fn give_back_freed_memory() {
    // SAFETY: `arena.4096.purge` (MALLCTL_ARENAS_ALL) is a void control
    // (jemalloc 5.3 `src/ctl.c`, `arena_i_purge_ctl`): no old value, no
    // new value, all four pointers null as jemalloc requires. A program
    // whose allocator is not this jemalloc purges an unused arena set.
    #[allow(unsafe_code)]
    let _ = unsafe {
        tikv_jemalloc_sys::mallctl(
            c"arena.4096.purge".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
}

// ANCHOR: delta
/// `GET /debug/pprof/block` or `/mutex`: the profile since the process
/// started, or with `?seconds=N` only what happened in the next N seconds:
/// one snapshot now, one after N seconds, the first subtracted from the
/// second, as Go's `serveDeltaProfile` does.
async fn contention_profile(
    limits: Arc<Limits>,
    Query(query): Params,
    take: fn() -> Recorded,
) -> Response {
    let seconds = match seconds(&query, None, limits.max_seconds) {
        Ok(s) => s,
        Err(message) => return bad_request("seconds", message),
    };
    if query.contains_key("debug") {
        return bad_request(
            "debug",
            "debug: these profiles are pprof only; drop the parameter".into(),
        );
    }
    let recorded = match seconds {
        None => take(),
        Some(n) => {
            let (before, started) = (take(), Instant::now());
            if crate::shutdown::sleep_async(Duration::from_secs(n))
                .await
                .is_err()
            {
                return error(StatusCode::SERVICE_UNAVAILABLE, crate::shutdown::CANCELLED);
            }
            match take().since(&before, started.elapsed()) {
                Ok(delta) => delta,
                Err(e) => {
                    eprintln!("the delta profile failed: {e}");
                    return error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "the delta profile failed",
                    );
                }
            }
        }
    };
    let mut bytes = Vec::new();
    let written = recorded.write_pprof(&mut bytes);
    drop(recorded);
    give_back_freed_memory();
    match written {
        Ok(()) => pprof(bytes),
        Err(e) => {
            eprintln!("cannot encode the profile: {e}");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot encode the profile",
            )
        }
    }
}
// ANCHOR_END: delta

/// `GET /debug/pprof/goroutine`: Go's goroutine profile of this process's
/// threads and this runtime's tasks ([`crate::goroutine`]), in the form
/// `debug` asks for: 0 (the default) pprof, 1 grouped text, 2 every entry.
async fn goroutine(Query(query): Params) -> Response {
    let debug = match debug_level(
        &query,
        0,
        &[0, 1, 2],
        "0 (pprof, the default), 1 (counted by stack) or 2 (every thread and task)",
    ) {
        Ok(debug) => debug,
        Err(message) => return bad_request("debug", message),
    };
    // Tasks first, on the runtime they belong to; then the threads, from
    // a blocking thread (the dump waits for every thread to answer). A
    // runtime that cannot dump its tasks leaves the threads, and says why
    // at the top.
    let runtime = tokio::runtime::Handle::current();
    let tasks = tasks::dump(&runtime, Duration::from_secs(5)).await;
    let built = tokio::task::spawn_blocking(move || {
        let mut all = crate::goroutine::Goroutines::of_threads(crate::thread_dump::ANSWER_WITHIN)?;
        match &tasks {
            Ok(tasks) => all.add_tasks(tasks),
            Err(why) => all.tasks_missing = Some(why.to_string()),
        }
        let answer = match debug {
            0 => all.to_pprof_gz(),
            1 => all.debug1().into_bytes(),
            _ => all.debug2().into_bytes(),
        };
        crate::stacks::release_symbols();
        give_back_freed_memory();
        Ok::<_, crate::Error>(answer)
    })
    .await;
    match built {
        Ok(Ok(bytes)) if debug == 0 => pprof(bytes),
        Ok(Ok(bytes)) => {
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], bytes).into_response()
        }
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the goroutine dump failed",
        ),
    }
}

/// `GET /debug/pprof/threadcreate`: the stacks that made this process's
/// threads ([`crate::threadcreate`]), pprof or (`debug=1`) Go's text.
async fn threadcreate(Query(query): Params) -> Response {
    let text = match debug_level(&query, 0, &[0, 1], "0 (pprof, the default) or 1 (text)") {
        Ok(debug) => debug == 1,
        Err(message) => return bad_request("debug", message),
    };
    let built = tokio::task::spawn_blocking(move || {
        let answer = if text {
            crate::threadcreate::debug1().into_bytes()
        } else {
            crate::threadcreate::to_pprof_gz()
        };
        crate::stacks::release_symbols();
        answer
    })
    .await;
    match built {
        Ok(bytes) if text => {
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], bytes).into_response()
        }
        Ok(bytes) => pprof(bytes),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the threadcreate profile failed",
        ),
    }
}

/// `GET /debug/pprof/tasks`: every task and where it awaits (`debug=2`,
/// the default), or the tasks counted by where they wait (`debug=1`), as
/// Go's `goroutine?debug=1` groups goroutines by stack.
async fn task_dump(Query(query): Params) -> Response {
    let grouped = match debug_level(
        &query,
        2,
        &[1, 2],
        "1 (tasks counted by stack) or 2 (every task)",
    ) {
        Ok(debug) => debug == 1,
        Err(message) => return bad_request("debug", message),
    };
    let runtime = tokio::runtime::Handle::current();
    let dump = match tasks::dump(&runtime, Duration::from_secs(5)).await {
        Ok(dump) => dump,
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    };
    if !grouped {
        return dump.text.into_response();
    }
    let mut text = format!(
        "# tasks by where they wait: {} traced, {} alive\n",
        dump.tasks.len(),
        dump.alive
    );
    let mut groups: Vec<_> = dump.groups().into_iter().collect();
    groups.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    for ((stack, kind), count) in groups {
        text.push_str(&format!("{count} @ {kind}\n{stack}\n\n"));
    }
    text.into_response()
}

// ANCHOR: trace
/// The switch for [`trace`]: a layer the process's subscriber holds, empty
/// until a trace is asked for.
type Switch = reload::Handle<Option<tracing_chrome::ChromeLayer<Registry>>, Registry>;

static SWITCH: OnceLock<Switch> = OnceLock::new();

/// Installs the process's tracing subscriber with an empty slot for the
/// Chrome layer of `/debug/pprof/trace`. Until a trace is asked for, the
/// slot is empty and every span is a cheap no-op. Call it once, at start.
pub fn install_tracing() -> Result<(), crate::Error> {
    use tracing_subscriber::prelude::*;
    let (layer, switch) = reload::Layer::new(None);
    tracing_subscriber::registry()
        .with(layer)
        .try_init()
        .map_err(|e| crate::Error::new(format!("cannot install the trace subscriber: {e}")))?;
    let _ = SWITCH.set(switch);
    Ok(())
}

/// Where the Chrome layer writes: memory, read back when the trace ends.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `GET /debug/pprof/trace?seconds=N`: the spans of the next N seconds
/// (default 1, as Go's), as Chrome trace JSON. One at a time: a second
/// request while one records gets 409.
async fn trace(limits: Arc<Limits>, Query(query): Params) -> Response {
    let seconds = match seconds(&query, Some(1), limits.max_seconds) {
        Ok(s) => s.unwrap_or(1),
        Err(message) => return bad_request("seconds", message),
    };
    let Some(switch) = SWITCH.get() else {
        return error(
            StatusCode::NOT_IMPLEMENTED,
            "tracing is not installed: the program must call labkit::endpoints::install_tracing",
        );
    };
    let Some(recording) = limits.tracing.take() else {
        return error(
            StatusCode::CONFLICT,
            "a trace is already being recorded; try again later",
        );
    };
    // The recording runs as a task of its own, not in the request: a
    // client that leaves drops its request, but the recording still ends
    // on time, uninstalls its layer and lowers the flag.
    let recording = tokio::spawn(async move {
        let _recording = recording;
        record(switch, seconds).await
    });
    let recorded = recording
        .await
        .unwrap_or_else(|e| Err(format!("the trace task failed: {e}")));
    match recorded {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(e) if e == crate::shutdown::CANCELLED => {
            error(StatusCode::SERVICE_UNAVAILABLE, crate::shutdown::CANCELLED)
        }
        Err(e) => {
            eprintln!("the trace failed: {e}");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the trace could not be recorded",
            )
        }
    }
}

/// Puts a Chrome layer into the subscriber's slot for `seconds`, then
/// takes it out and returns what it wrote.
async fn record(switch: &'static Switch, seconds: u64) -> Result<Vec<u8>, String> {
    let buffer = Buffer::default();
    let (layer, guard) = tracing_chrome::ChromeLayerBuilder::new()
        .writer(buffer.clone())
        .include_args(true)
        .build();
    let started = switch.reload(Some(layer));
    let mut cancelled = false;
    if started.is_ok() {
        cancelled = crate::shutdown::sleep_async(Duration::from_secs(seconds))
            .await
            .is_err();
    }
    let stopped = switch.reload(None);
    // The guard's drop makes tracing-chrome's writer thread close the JSON
    // array and finish: off the runtime's thread, as it joins a thread.
    let _ = tokio::task::spawn_blocking(move || drop(guard)).await;
    started.and(stopped).map_err(|e| e.to_string())?;
    if cancelled {
        return Err(crate::shutdown::CANCELLED.to_string());
    }
    Ok(std::mem::take(
        &mut *buffer.0.lock().unwrap_or_else(|e| e.into_inner()),
    ))
}
// ANCHOR_END: trace
