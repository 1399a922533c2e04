//! Day 089, live profiling a tokio service: the lab.
//!
//! The Go seeds' service in Rust (its pipeline, `POST /load` and `GET
//! /stats` live in the `pipeline-service` crate), with `/debug/pprof/*`
//! serving profiles of the live process: CPU (here), heap, block, mutex, a
//! task dump and a trace (labkit's), listed at `/debug/pprof/`. The HTTP
//! side runs on one thread — a small service's usual runtime — so whatever
//! blocks that thread stalls every request.
//!
//! Run it (`cargo run -p lab-089`), drive it (`cargo run -p loadgen --
//! --scenario normal`), and take a profile while watching `/stats`. Then
//! self-check with `cargo test -p lab-089`. The page is `book/day-089.md`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use labkit::Error;
use labkit::capture::Capture;
use labkit::contention;
use labkit::endpoints::{self, Capturing, OneAtATime};
use labkit::out;
use workbook::days::day089;

// jemalloc as the allocator, for its sampling heap profiler: what
// `/debug/pprof/heap` serves.
#[global_allocator]
static ALLOC: live_heap::Jemalloc = live_heap::Jemalloc;

fn main() -> Result<(), Error> {
    // One thread for the HTTP side, and a runtime that notes where each
    // task was spawned: the goroutine dump's `created by` lines.
    let mut runtime = tokio::runtime::Builder::new_current_thread();
    labkit::goroutine::record_spawns(runtime.enable_all());
    let runtime = runtime
        .build()
        .map_err(|e| Error::io("cannot start the tokio runtime", e))?;
    let served = runtime.block_on(serve());
    // Blocking work still running (a thread dump, say) is not waited for.
    runtime.shutdown_timeout(Duration::from_millis(200));
    served
}

async fn serve() -> Result<(), Error> {
    let (_out_dir, flags) = workbook::this_day!().args::<day089::Flags>();
    let addr = flags.addr();
    // Off by default, like Go's; a service that serves these endpoints
    // turns them on at a rate it can afford (Day 085).
    contention::set_block_profile_rate(10_000)?;
    contention::set_mutex_profile_fraction(10)?;
    // Spans cost next to nothing until `/debug/pprof/trace` records them.
    endpoints::install_tracing()?;

    let router = Router::new()
        .route("/debug/pprof/profile", get(cpu_profile))
        .with_state(OneAtATime::default())
        .merge(pipeline_service::router())
        // The index, heap, block, mutex, tasks and trace: labkit's.
        .merge(endpoints::router(day089::MAX_SECONDS));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::io(format!("cannot listen on {addr}"), e))?;
    let bound: SocketAddr = listener
        .local_addr()
        .map_err(|e| Error::io("cannot read the listening address", e))?;
    // `println!` would end the service if whoever started it stopped
    // reading (`| head -1`): `say` lets the lines go instead.
    out::say(format_args!(
        "service listening on {bound} (pid {})",
        std::process::id()
    ));
    out::say(format_args!(
        "try: go tool pprof -top 'http://{bound}/debug/pprof/profile?seconds=5'"
    ));
    // With timeouts, so that no client holds a connection by sending half
    // a request.
    // The first SIGTERM or Ctrl-C stops accepting, cancels captures and
    // gives the rest half a second; a second one ends the process at once.
    labkit::net::serve(
        listener,
        router,
        day089::limits(),
        labkit::net::stop_signal(),
    )
    .await;
    Ok(())
}

// ANCHOR: profile
/// `GET /debug/pprof/profile?seconds=N`: a CPU profile of the live
/// process, as gzipped pprof.
async fn cpu_profile(
    State(profiling): State<OneAtATime>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let seconds = match endpoints::seconds(&query, Some(30), day089::MAX_SECONDS) {
        Ok(s) => s.unwrap_or(30),
        Err(message) => return endpoints::bad_request("seconds", message),
    };
    // One capture at a time, as Go's "profiling already in use".
    let Some(capturing) = profiling.take() else {
        return endpoints::error(
            StatusCode::CONFLICT,
            "a CPU profile is already being taken; try again later",
        );
    };
    // The capture sleeps for `seconds` before it has anything to send.
    let result = capture(seconds, capturing);
    endpoints::cpu_profile_or_500(result)
}
// ANCHOR_END: profile

/// Profiles the whole process for `seconds` and encodes the result,
/// holding `_capturing` until it is done.
fn capture(seconds: u64, _capturing: Capturing) -> Result<Vec<u8>, Error> {
    let capture = Capture::start()?;
    // A stop signal cuts the wait short: the client gets a 503 saying so.
    labkit::shutdown::sleep(Duration::from_secs(seconds))
        .map_err(|cancelled| Error::new(cancelled.to_string()))?;
    let profile = capture.stop()?;
    let mut bytes = Vec::new();
    profile
        .write_pprof(&mut bytes)
        .map_err(|e| Error::io("cannot encode the CPU profile", e))?;
    Ok(bytes)
}
