//! Day 089, live profiling a tokio service: while a CPU profile is taken
//! through `/debug/pprof/profile`, the service must keep answering
//! `/stats` about as fast as when idle.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crate::service::{Launch, Service};
use crate::verdict::Failure;
use labkit::http;

pub const DAY: &str = crate::registry::module_day(module_path!());
/// What the lab as shipped fails with, from its registry entry.
const SYMPTOM: &str = crate::registry::symptom(DAY);
/// The question a red self-check asks: where to look, never the fix.
const FIRST_HINT: &str = crate::registry::first_hint(DAY);
/// The default address: loopback only.
pub const PORT: &str = "127.0.0.1:8089";

/// The day's flags: `--addr HOST:PORT`, where the service listens.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct Flags {
    #[command(flatten)]
    pub listen: labkit::cli::Listen,
}

impl Flags {
    /// `--addr`, or [`PORT`] when it is not given. An address other
    /// machines can reach is taken, with a warning on stderr
    /// ([`labkit::cli::exposure_warning`]).
    pub fn addr(&self) -> SocketAddr {
        let addr = self
            .listen
            .addr
            .unwrap_or_else(|| PORT.parse().expect("PORT is a valid address"));
        if let Some(warning) = labkit::cli::exposure_warning(addr) {
            eprintln!("{warning}");
        }
        addr
    }
}
/// The longest CPU profile the service takes.
pub const MAX_SECONDS: u64 = 30;
/// What the service waits for and reads: a client gets 5 s for a request's
/// head and 5 s for its body, and the service answers within the longest
/// capture and half a minute more.
pub fn limits() -> labkit::net::Limits {
    labkit::net::Limits::new(Duration::from_secs(MAX_SECONDS + 30))
}
/// The capture the check asks for.
pub const CAPTURE_SECONDS: u64 = 2;

/// The yardstick: while a capture runs, no `/stats` round trip may take
/// more than this share of the capture's own wall time, measured in the
/// same window. A handler that sleeps on the executor's only thread holds
/// every request for the rest of the capture (a share near 1); a capture
/// on the blocking pool costs a request only the scheduler's slices. Both
/// stretch alike on a busy machine, so the verdict does not move with load.
pub const MAX_STALL_PER_CAPTURE: f64 = 0.25;

/// What the check saw.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The slowest `/stats` round trip while the capture ran.
    pub longest_stats: Duration,
    /// How long the capture request took, start to answer.
    pub capture: Duration,
    pub profile_bytes: usize,
}

impl Outcome {
    /// The slowest round trip, as a share of the capture.
    pub fn stall_share(&self) -> f64 {
        crate::verdict::share(self.longest_stats, self.capture)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "live profiling of the service")?;
        let met = crate::verdict::met(self.stall_share() < MAX_STALL_PER_CAPTURE);
        writeln!(
            f,
            "/stats during a {CAPTURE_SECONDS} s CPU profile: every round trip under \
             {MAX_STALL_PER_CAPTURE} of the capture's time ({met})"
        )?;
        writeln!(
            f,
            "/debug/pprof/profile returned a pprof file that reads back"
        )?;
        writeln!(
            f,
            "a second capture asked for meanwhile was refused with 409 Conflict"
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

/// Starts the service on a free port (with `launch`, from the test
/// harness), and returns it with its address.
pub fn start(
    launch: Launch,
    exe: &Path,
    dir: &Path,
) -> Result<(Box<dyn Service>, SocketAddr), Failure> {
    let rerun = "start the service by hand (cargo run -p lab-089) and read what it prints";
    let mut service = launch(exe, dir, &["--addr", "127.0.0.1:0"]).map_err(|e| fail(e, rerun))?;
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

/// The capture the service ran, and the request it refused. The long
/// capture is asked for 200 ms before the short one, but on a busy machine
/// the short one can still reach the service first: then it is the one
/// answered 200, and the long one the one refused. Which came first is the
/// scheduler's business, not the service's, so the answers are sorted by
/// what they say.
fn captured_first(
    first: http::Response,
    second: Option<std::io::Result<http::Response>>,
) -> (http::Response, Option<std::io::Result<http::Response>>) {
    match second {
        Some(Ok(other)) if first.status == 409 && other.status == 200 => (other, Some(Ok(first))),
        second => (first, second),
    }
}

/// Judges the answer to a second capture asked for while the first ran
/// (`None`: the first was over before the check could ask).
fn one_at_a_time(second: Option<std::io::Result<http::Response>>) -> Result<(), Failure> {
    let hint = "keep the one-at-a-time guard for the whole capture: hand it to the capture \
                (as `capture(seconds, capturing)` does) and answer 409 while it runs";
    // Only a capture that had already ended lets a second one through: the
    // profiler refuses to run twice, so a broken guard answers 500.
    let too_busy = || {
        fail(
            format!(
                "the {CAPTURE_SECONDS} s capture was over before the check could ask for a \
                 second one; the machine is too busy to judge the 409"
            ),
            "run the self-check again on a quieter machine",
        )
    };
    let second = second
        .ok_or_else(too_busy)?
        .map_err(|e| fail(format!("the second capture failed: {e}"), hint))?;
    match second.status {
        409 => Ok(()),
        200 => Err(too_busy()),
        status => Err(fail(
            format!(
                "a second capture asked for while one ran answered {status}, not 409 Conflict: {}",
                second.text()
            ),
            hint,
        )),
    }
}

/// Runs the service, measures `/stats` idle and during a CPU profile, and
/// checks the profile it returns.
pub fn check(launch: Launch, exe: &Path, dir: &Path) -> Result<Outcome, Failure> {
    let (service, addr) = start(launch, exe, dir)?;
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
    let capture = std::thread::spawn(move || {
        http::request(
            addr,
            "GET",
            &format!("/debug/pprof/profile?seconds={CAPTURE_SECONDS}"),
            None,
            Duration::from_secs(CAPTURE_SECONDS + 20),
        )
    });
    // Give the capture a head start; then, while it runs, ask for a second
    // capture (which must be refused at once) and for /stats.
    std::thread::sleep(Duration::from_millis(200));
    let second = (!capture.is_finished()).then(|| {
        std::thread::spawn(move || {
            http::request(
                addr,
                "GET",
                "/debug/pprof/profile?seconds=1",
                None,
                Duration::from_secs(CAPTURE_SECONDS + 20),
            )
        })
    });
    let during =
        stats_latencies(addr, 30, Duration::from_millis(20)).map_err(|e| fail(e, rerun))?;
    let second = match second {
        Some(thread) => Some(
            thread
                .join()
                .map_err(|_| fail("the second capture's thread panicked".into(), rerun))?,
        ),
        None => None,
    };
    let profile = capture
        .join()
        .map_err(|_| fail("the capture thread panicked".into(), rerun))?
        .map_err(|e| fail(format!("GET /debug/pprof/profile failed: {e}"), rerun))?;
    let (profile, second) = captured_first(profile, second);
    drop(service);

    let outcome = Outcome {
        longest_stats: during.iter().max().copied().unwrap_or_default(),
        capture: profile.elapsed,
        profile_bytes: profile.body.len(),
    };
    if outcome.stall_share() >= MAX_STALL_PER_CAPTURE {
        return Err(fail(
            format!(
                "a /stats request took {} ms while a {} ms CPU profile was taken ({:.0}% of it): {SYMPTOM}",
                outcome.longest_stats.as_millis(),
                outcome.capture.as_millis(),
                outcome.stall_share() * 100.0
            ),
            FIRST_HINT,
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
    labkit::profile::decode(Path::new("/debug/pprof/profile"), &profile.body)
        .map_err(|e| fail(format!("the profile endpoint's answer: {e}"), rerun))?;
    one_at_a_time(second)?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16) -> http::Response {
        http::Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            elapsed: Duration::from_secs(1),
        }
    }

    #[test]
    fn the_capture_is_the_request_answered_200_whichever_was_sent_first() {
        let (capture, refused) = captured_first(answer(409), Some(Ok(answer(200))));
        assert_eq!(capture.status, 200);
        assert_eq!(refused.unwrap().unwrap().status, 409);
        let (capture, refused) = captured_first(answer(200), Some(Ok(answer(409))));
        assert_eq!(capture.status, 200);
        assert_eq!(refused.unwrap().unwrap().status, 409);
        // A service that refuses both is still caught: nothing is swapped.
        let (capture, _) = captured_first(answer(409), Some(Ok(answer(409))));
        assert_eq!(capture.status, 409);
    }
}
