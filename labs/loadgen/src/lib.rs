//! `cargo run -p loadgen -- --scenario normal|high|burst [--addr A] [--duration S]`
//!
//! The Go seed's load scenarios against the Day 089 service: `POST /load`
//! at a steady rate for a while, then the round-trip percentiles. Loopback
//! only, bounded in count and time. The program is `main.rs`; this library
//! is what it runs, so a test can drive the real service with it.

use std::fmt;
use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, ValueEnum};
use labkit::cli::Listen;
use labkit::http::{self, quantile};

/// Where the Day 089 service listens unless told otherwise (its `--addr`
/// default). Give `--addr` to drive a service elsewhere.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8089";
const BODY: &str = r#"{"workers": 2, "items": 20}"#;

/// Drives a service with the Go seeds' load scenarios: `POST /load` at a
/// steady rate for a while, then the round-trip percentiles.
#[derive(Parser, Debug)]
#[command(name = "loadgen")]
struct Cli {
    /// The scenario: normal (10/s for 30 s), high (50/s for 20 s), burst (100/s for 10 s)
    #[arg(long, value_enum)]
    scenario: Scenario,
    #[command(flatten)]
    listen: Listen,
    /// Override the scenario's length, in whole seconds
    #[arg(long, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=600))]
    duration: Option<u64>,
}

/// The seed's load scripts.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    Normal,
    High,
    Burst,
}

impl Scenario {
    /// Requests per second, and seconds.
    fn shape(self) -> (u64, u64) {
        match self {
            Scenario::Normal => (10, 30),
            Scenario::High => (50, 20),
            Scenario::Burst => (100, 10),
        }
    }
}

/// What to send: `rate` requests per second to `addr` for `duration`.
#[derive(Debug, Clone)]
pub struct Plan {
    pub addr: SocketAddr,
    pub rate: u64,
    pub duration: Duration,
    pub name: String,
}

impl Plan {
    /// How many requests the schedule sends.
    pub fn total(&self) -> u64 {
        self.rate * self.duration.as_secs()
    }
}

/// The plan a command line asks for; errors name the flag (clap's, or
/// `--addr` when it is not on loopback: this tool only loads your own
/// machine).
pub fn parse<I, T>(args: I) -> Result<Plan, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::try_parse_from(args)?;
    let addr = cli
        .listen
        .addr
        .unwrap_or_else(|| DEFAULT_ADDR.parse().expect("a valid default"));
    if !addr.ip().is_loopback() {
        return Err(Cli::command().error(
            ErrorKind::ValueValidation,
            format!("--addr {addr}: expected a loopback HOST:PORT such as {DEFAULT_ADDR}"),
        ));
    }
    let (rate, secs) = cli.scenario.shape();
    Ok(Plan {
        addr,
        rate,
        duration: Duration::from_secs(cli.duration.unwrap_or(secs)),
        name: format!("{:?}", cli.scenario).to_lowercase(),
    })
}

/// What came back: every request sent, with its round trip (to its answer,
/// or to its failure) and how it ended.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// One round trip per request sent, answered or not.
    pub latencies: Vec<Duration>,
    /// Answered 202 Accepted.
    pub accepted: usize,
    /// Answered 503: the service was full and said when to come back.
    pub busy: usize,
    /// Any other answer, or none (refused, reset, timed out).
    pub failed: usize,
    /// Due on the schedule but never sent: [`MAX_IN_FLIGHT`] requests were
    /// already waiting for answers (the service had stalled), or the
    /// system would not start one more thread.
    pub unsent: usize,
}

/// The most requests waiting for their answers at once. A service that
/// stalls would otherwise collect a thread per scheduled request (1 000
/// for `burst` in its 10 s timeout).
pub const MAX_IN_FLIGHT: usize = 256;

impl Report {
    /// Every request sent, however it ended.
    pub fn sent(&self) -> usize {
        self.latencies.len()
    }

    /// Every request the schedule asked for: sent, or counted as not sent.
    pub fn scheduled(&self) -> usize {
        self.sent() + self.unsent
    }

    fn record(&mut self, outcome: (Duration, std::io::Result<http::Response>)) {
        let (elapsed, answer) = outcome;
        self.latencies.push(elapsed);
        match answer.map(|r| r.status) {
            Ok(202) => self.accepted += 1,
            Ok(503) => self.busy += 1,
            _ => self.failed += 1,
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} requests: {} accepted, {} answered 503 (busy), {} failed",
            self.sent(),
            self.accepted,
            self.busy,
            self.failed
        )?;
        if self.unsent > 0 {
            writeln!(
                f,
                "{} more were due but not sent: {MAX_IN_FLIGHT} requests were already waiting \
                 for answers (or no thread could be started)",
                self.unsent
            )?;
        }
        write!(
            f,
            "round trips of all {}: p50 {:?}, p90 {:?}, p99 {:?}",
            self.sent(),
            quantile(&self.latencies, 0.5),
            quantile(&self.latencies, 0.9),
            quantile(&self.latencies, 0.99)
        )
    }
}

type Pending = JoinHandle<(Duration, std::io::Result<http::Response>)>;

/// Sends requests on a fixed schedule (not "as fast as answers come"), so a
/// slow service cannot slow the load down and hide its own latency. Every
/// request is counted: a finished one is joined and recorded as the loop
/// goes, the rest at the end. A request thread does not panic (errors are
/// values); should one, it counts as failed with the time it was given.
pub fn run(plan: &Plan) -> Report {
    run_with(plan, Duration::from_secs(10), MAX_IN_FLIGHT)
}

/// [`run`], with each request's `timeout` and at most `max_in_flight`
/// requests waiting for answers.
fn run_with(plan: &Plan, timeout: Duration, max_in_flight: usize) -> Report {
    let gap = Duration::from_secs(1) / plan.rate as u32;
    let start = Instant::now();
    let mut report = Report::default();
    let mut pending: Vec<Pending> = Vec::new();
    let collect = |h: Pending, report: &mut Report| {
        report.record(
            h.join()
                .unwrap_or_else(|_| (timeout, Err(std::io::Error::other("panicked")))),
        );
    };
    for n in 0..plan.total() {
        let due = start + gap * n as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        // Collect what has finished, so threads do not pile up.
        let (done, running): (Vec<_>, Vec<_>) =
            pending.into_iter().partition(JoinHandle::is_finished);
        pending = running;
        for h in done {
            collect(h, &mut report);
        }
        if pending.len() >= max_in_flight {
            report.unsent += 1;
            continue;
        }
        let addr = plan.addr;
        let spawned = std::thread::Builder::new().spawn(move || {
            let sent = Instant::now();
            let answer = http::request(addr, "POST", "/load", Some(BODY), timeout);
            (sent.elapsed(), answer)
        });
        match spawned {
            Ok(h) => pending.push(h),
            Err(_) => report.unsent += 1,
        }
    }
    for h in pending {
        collect(h, &mut report);
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stalled_service_does_not_collect_a_thread_per_request() {
        // A listener that never answers: every request waits for its timeout.
        let stalled = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let plan = Plan {
            addr: stalled.local_addr().unwrap(),
            rate: 100,
            duration: Duration::from_secs(1),
            name: "stalled".into(),
        };
        let report = run_with(&plan, Duration::from_secs(1), 20);
        assert_eq!(report.scheduled() as u64, plan.total(), "{report}");
        assert!(report.sent() <= 20 + 20, "{report}");
        assert!(report.unsent >= 50, "{report}");
        assert_eq!(report.failed, report.sent(), "{report}");
        assert!(report.to_string().contains("not sent"), "{report}");
    }

    fn parse_args(a: &[&str]) -> Result<Plan, String> {
        parse(std::iter::once("loadgen").chain(a.iter().copied())).map_err(|e| e.to_string())
    }

    #[test]
    fn scenarios_are_the_seeds_and_bad_input_is_named() {
        let p = parse_args(&["--scenario", "burst"]).ok().unwrap();
        assert_eq!((p.rate, p.duration), (100, Duration::from_secs(10)));
        assert_eq!(p.addr.to_string(), DEFAULT_ADDR);
        let p = parse_args(&["--scenario", "normal", "--duration", "2"])
            .ok()
            .unwrap();
        assert_eq!((p.rate, p.duration), (10, Duration::from_secs(2)));
        let err = parse_args(&["--scenario", "huge"]).err().unwrap();
        assert!(
            err.contains("'huge'") && err.contains("--scenario"),
            "{err}"
        );
        let err = parse_args(&["--scenario", "high", "--addr", "10.0.0.1:80"])
            .err()
            .unwrap();
        assert!(err.contains("loopback") && err.contains("--addr"), "{err}");
        let err = parse_args(&["--scenario", "high", "--duration", "0"])
            .err()
            .unwrap();
        assert!(err.contains("--duration") && err.contains("'0'"), "{err}");
        let err = parse_args(&[]).err().unwrap();
        assert!(err.contains("--scenario"), "{err}");
        let help = parse(["loadgen", "--help"]).err().unwrap();
        assert_eq!(help.exit_code(), 0);
    }
}
