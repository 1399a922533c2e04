//! What profiling costs a service in memory: Day 089's service (its
//! pipeline, labkit's `/debug/pprof/` set, jemalloc with its heap profiler
//! on), in this process, idle; its resident memory (`VmRSS`) at start,
//! after one CPU capture and after twenty, and what its own heap profile
//! says it holds then, in all and under labkit's frames.
//!
//! `cargo bench -p bench --bench service_memory` (about 25 s). Not a
//! criterion benchmark: memory is read once per step, not timed.
//!
//! Measured on the workbook's machine (2 cores, debug-info build of the
//! bench profile), before the sampler and symboliser gave their memory
//! back: RSS 163 → 336 MB after the first capture, 420–490 MB after
//! forty; 73 MB of the idle heap under `warm_up_symbols`, 84 MB under
//! `capture` after one. See the closing note of the issue for the after.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::Query;
use axum::response::Response;
use labkit::capture::Capture;
use labkit::endpoints;
use labkit::net::{Background, Limits};

#[global_allocator]
static ALLOC: live_heap::Jemalloc = live_heap::Jemalloc;

/// Seconds each capture samples.
const CAPTURE_SECONDS: u64 = 1;

fn main() {
    let server = serve();
    let addr = server.addr();
    let mut rows = vec![step("idle, profiling endpoints mounted", addr)];
    capture(addr);
    rows.push(step("after 1 CPU capture", addr));
    for _ in 1..20 {
        capture(addr);
    }
    rows.push(step("after 20 CPU captures", addr));
    println!(
        "{:<36} {:>10} {:>14} {:>16}",
        "service memory", "VmRSS", "heap in use", "under labkit"
    );
    for (what, rss, heap, labkit) in rows {
        println!(
            "{what:<36} {:>10} {:>14} {:>16}",
            mb(rss),
            mb(heap),
            mb(labkit)
        );
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// The row of one step: VmRSS, the heap profile's `inuse_space`, and the
/// part of it with a `labkit::` frame on its stack.
fn step(what: &'static str, addr: SocketAddr) -> (&'static str, u64, u64, u64) {
    // Let in-flight work settle, as an idle service would.
    std::thread::sleep(Duration::from_millis(500));
    let rss = rss();
    let heap = fetch(addr, "/debug/pprof/heap");
    let profile = labkit::profile::decode(std::path::Path::new("heap"), &heap).unwrap();
    let index = profile.value_index("inuse_space").unwrap();
    let total = profile.total(index).max(0) as u64;
    let labkit = profile
        .samples
        .iter()
        .filter(|s| s.stack.iter().any(|f| f.contains("labkit::")))
        .map(|s| s.values[index].max(0) as u64)
        .sum();
    (what, rss, total, labkit)
}

fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn fetch(addr: SocketAddr, path: &str) -> Vec<u8> {
    let response = labkit::http::request(addr, "GET", path, None, Duration::from_secs(60)).unwrap();
    assert_eq!(response.status, 200, "{path}: {}", response.text());
    response.body
}

fn capture(addr: SocketAddr) {
    fetch(addr, "/debug/pprof/profile");
}

/// Day 089's service on a free port: the pipeline, labkit's endpoints and
/// a CPU profile endpoint that captures for [`CAPTURE_SECONDS`].
fn serve() -> Background {
    labkit::contention::set_block_profile_rate(10_000).unwrap();
    labkit::contention::set_mutex_profile_fraction(10).unwrap();
    let router = Router::new()
        .route("/debug/pprof/profile", axum::routing::get(cpu_profile))
        .merge(pipeline_service::router())
        .merge(endpoints::router(30));
    Background::start(router, Limits::new(Duration::from_secs(60)), 0).unwrap()
}

async fn cpu_profile(Query(_): Query<HashMap<String, String>>) -> Response {
    let result = tokio::task::spawn_blocking(|| {
        let capture = Capture::start()?;
        std::thread::sleep(Duration::from_secs(CAPTURE_SECONDS));
        let mut bytes = Vec::new();
        capture
            .stop()?
            .write_pprof(&mut bytes)
            .map_err(|e| labkit::Error::io("cannot encode", e))?;
        Ok(bytes)
    })
    .await
    .unwrap();
    endpoints::cpu_profile_or_500(result)
}
