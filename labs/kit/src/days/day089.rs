//! Day 089, live profiling a tokio service: while a CPU profile is taken
//! through `/debug/pprof/profile`, the service must keep answering
//! `/stats` about as fast as when idle.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::check::{Failure, RunningService};
use crate::http::{self, quantile};

pub const DAY: &str = "089";
/// The default address: loopback only.
pub const PORT: &str = "127.0.0.1:8089";
/// The longest CPU profile the service takes.
pub const MAX_SECONDS: u64 = 30;
/// The capture the check asks for.
pub const CAPTURE_SECONDS: u64 = 2;

/// `/stats` p99 during a capture may be at most this factor of idle, plus
/// a small absolute slack for a busy machine. Measured: idle p99 1–3 ms;
/// during a capture, 1–4 ms for the solution and ~2 000 ms for the lab.
pub const MAX_FACTOR: f64 = 1.5;
pub const SLACK: Duration = Duration::from_millis(15);

/// What the check saw.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub idle_p99: Duration,
    pub capture_p99: Duration,
    pub profile_bytes: usize,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "live profiling of the service")?;
        writeln!(
            f,
            "/stats p99 during a {CAPTURE_SECONDS} s CPU profile: within {MAX_FACTOR}× of idle (+{} ms slack): met",
            SLACK.as_millis()
        )?;
        writeln!(
            f,
            "/debug/pprof/profile returned a pprof file that reads back"
        )
    }
}

fn fail(symptom: String, hint: &'static str) -> Failure {
    Failure {
        day: DAY,
        symptom,
        hint,
    }
}

/// Starts the service on a free port, and returns it with its address.
pub fn start(exe: &Path, dir: &Path) -> Result<(RunningService, SocketAddr), Failure> {
    let rerun = "start the service by hand (cargo run -p lab-089) and read what it prints";
    let mut service =
        RunningService::start(exe, dir, &["--addr", "127.0.0.1:0"]).map_err(|e| fail(e, rerun))?;
    let first = service.first_line().map_err(|e| fail(e, rerun))?;
    let addr = first
        .split_whitespace()
        .find_map(|w| w.parse::<SocketAddr>().ok())
        .ok_or_else(|| {
            fail(
                format!("the service did not say where it listens: {first:?}"),
                rerun,
            )
        })?;
    Ok((service, addr))
}

/// `/stats` round trips, one every `gap`, for `count` times.
fn stats_latencies(addr: SocketAddr, count: usize, gap: Duration) -> Result<Vec<Duration>, String> {
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        let r = http::request(addr, "GET", "/stats", None, Duration::from_secs(10))
            .map_err(|e| format!("GET /stats failed: {e}"))?;
        if r.status != 200 {
            return Err(format!("GET /stats answered {}: {}", r.status, r.text()));
        }
        times.push(r.elapsed);
        std::thread::sleep(gap);
    }
    Ok(times)
}

/// Runs the service, measures `/stats` idle and during a CPU profile, and
/// checks the profile it returns.
pub fn check(exe: &Path, dir: &Path) -> Result<Outcome, Failure> {
    let (service, addr) = start(exe, dir)?;
    let rerun = "start the service by hand and try the endpoints with curl";
    // Some load, so there is something to profile.
    let load = http::request(
        addr,
        "POST",
        "/load",
        Some(r#"{"workers": 2, "items": 200}"#),
        Duration::from_secs(5),
    )
    .map_err(|e| fail(format!("POST /load failed: {e}"), rerun))?;
    if load.status != 202 {
        return Err(fail(
            format!("POST /load answered {}: {}", load.status, load.text()),
            rerun,
        ));
    }
    let idle = stats_latencies(addr, 40, Duration::from_millis(10)).map_err(|e| fail(e, rerun))?;

    let capture = std::thread::spawn(move || {
        http::request(
            addr,
            "GET",
            &format!("/debug/pprof/profile?seconds={CAPTURE_SECONDS}"),
            None,
            Duration::from_secs(CAPTURE_SECONDS + 20),
        )
    });
    std::thread::sleep(Duration::from_millis(200));
    let during =
        stats_latencies(addr, 30, Duration::from_millis(20)).map_err(|e| fail(e, rerun))?;
    let profile = capture
        .join()
        .map_err(|_| fail("the capture thread panicked".into(), rerun))?
        .map_err(|e| fail(format!("GET /debug/pprof/profile failed: {e}"), rerun))?;
    drop(service);

    let (idle_p99, capture_p99) = (quantile(&idle, 0.99), quantile(&during, 0.99));
    let limit = idle_p99.mul_f64(MAX_FACTOR) + SLACK;
    if capture_p99 > limit {
        return Err(fail(
            format!(
                "/stats p99 rose from {} ms idle to {} ms while a CPU profile was taken: the \
                 profile handler blocks the executor",
                idle_p99.as_millis(),
                capture_p99.as_millis()
            ),
            "the handler sleeps for the whole capture on the only thread that serves requests; \
             run the capture with tokio::task::spawn_blocking and .await it",
        ));
    }
    if profile.status != 200 {
        return Err(fail(
            format!(
                "the profile endpoint answered {}: {}",
                profile.status,
                profile.text()
            ),
            rerun,
        ));
    }
    crate::profile::decode(Path::new("/debug/pprof/profile"), &profile.body)
        .map_err(|e| fail(format!("the profile endpoint's answer: {e}"), rerun))?;
    Ok(Outcome {
        idle_p99,
        capture_p99,
        profile_bytes: profile.body.len(),
    })
}
