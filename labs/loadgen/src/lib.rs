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
    /// The service's HOST:PORT, numeric and on this machine (default 127.0.0.1:8089)
    #[arg(long, value_name = "HOST:PORT")]
    addr: Option<SocketAddr>,
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
        .addr
        .unwrap_or_else(|| DEFAULT_ADDR.parse().expect("a valid default"));
    if addr.port() == 0 {
        return Err(Cli::command().error(
            ErrorKind::ValueValidation,
            format!("--addr {addr}: port 0 is not a service's port; give the port it printed"),
        ));
    }
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
/// What the requests came back with: answers by status, failures by
/// kind, and the round trips of the answered ones only (a refused
/// connection's microseconds or a timeout's ten seconds are not a round
/// trip of the service).
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Round trips of the requests that got an HTTP answer.
    pub latencies: Vec<Duration>,
    /// 202: taken into the pipeline.
    pub accepted: usize,
    /// 503: the service's queue was full (its back-pressure, by design).
    pub busy: usize,
    /// Other 5xx answers.
    pub server_errors: usize,
    /// Any other status.
    pub other_status: usize,
    /// Connection refused: nothing listens.
    pub refused: usize,
    /// Connected (or trying), no complete answer in time.
    pub timed_out: usize,
    /// Any other I/O failure (reset, broken pipe…).
    pub other_failed: usize,
    pub unsent: usize,
    /// Why the run stopped before its end, if it did.
    pub stopped_early: Option<String>,
}

/// Requests may fail up to this share (refused, timed out, 5xx other than
/// the service's own 503 "busy") before the run counts as failed.
pub const MAX_FAILED_SHARE: f64 = 0.05;

/// With nothing answered and every finished request refused for this
/// long, the service is taken for absent and the run stops.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(3);

/// Requests waiting for answers at once; past it, due requests are counted
/// as not sent instead of piling up threads.
pub const MAX_IN_FLIGHT: usize = 256;

impl Report {
    /// Requests sent (answered or failed).
    pub fn sent(&self) -> usize {
        self.answered() + self.failed()
    }

    /// Requests that got an HTTP answer.
    pub fn answered(&self) -> usize {
        self.accepted + self.busy + self.server_errors + self.other_status
    }

    /// Requests that failed: no answer, or a 5xx other than 503.
    pub fn failed(&self) -> usize {
        self.refused + self.timed_out + self.other_failed + self.server_errors
    }

    pub fn scheduled(&self) -> usize {
        self.sent() + self.unsent
    }

    /// Whether the run went as a load test should: something was taken,
    /// and failures stayed under [`MAX_FAILED_SHARE`].
    pub fn passed(&self) -> bool {
        self.accepted > 0
            && self.stopped_early.is_none()
            && (self.failed() as f64) <= MAX_FAILED_SHARE * self.sent().max(1) as f64
    }

    fn record(&mut self, outcome: (Duration, std::io::Result<http::Response>)) {
        let (elapsed, answer) = outcome;
        match answer {
            Ok(r) => {
                self.latencies.push(elapsed);
                match r.status {
                    202 => self.accepted += 1,
                    503 => self.busy += 1,
                    500..=599 => self.server_errors += 1,
                    _ => self.other_status += 1,
                }
            }
            Err(e) => match e.kind() {
                std::io::ErrorKind::ConnectionRefused => self.refused += 1,
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                    self.timed_out += 1
                }
                _ => self.other_failed += 1,
            },
        }
    }

    /// What went wrong, in words, when the run did not pass.
    pub fn verdict(&self, addr: SocketAddr) -> Option<String> {
        if let Some(why) = &self.stopped_early {
            return Some(why.clone());
        }
        if self.passed() {
            return None;
        }
        Some(if self.answered() == 0 && self.refused == self.sent() {
            format!("nothing listens on {addr}: every connection was refused")
        } else if self.answered() == 0 && self.timed_out > 0 {
            format!(
                "the service on {addr} accepted connections but answered none in time \
                 ({} timed out)",
                self.timed_out
            )
        } else if self.accepted == 0 {
            format!(
                "the service on {addr} took no request ({} answered, none 202)",
                self.answered()
            )
        } else {
            format!(
                "{} of {} requests failed, more than {:.0}%: see the counts above",
                self.failed(),
                self.sent(),
                MAX_FAILED_SHARE * 100.0
            )
        })
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
            self.failed()
        )?;
        if self.failed() > 0 || self.other_status > 0 {
            writeln!(
                f,
                "failed: {} refused, {} timed out, {} other 5xx, {} other errors; {} other statuses",
                self.refused,
                self.timed_out,
                self.server_errors,
                self.other_failed,
                self.other_status
            )?;
        }
        if self.unsent > 0 {
            writeln!(
                f,
                "{} more were due but not sent: {MAX_IN_FLIGHT} requests were already waiting \
                 for answers (or no thread could be started), or the run stopped early",
                self.unsent
            )?;
        }
        write!(
            f,
            "round trips of the {} answered: p50 {:?}, p90 {:?}, p99 {:?}",
            self.answered(),
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
        if report.answered() == 0
            && report.refused > 0
            && report.refused == report.sent()
            && start.elapsed() >= GIVE_UP_AFTER
        {
            report.stopped_early = Some(format!(
                "nothing listens on {}: {} connections refused in the first {:?}; stopped \
                 early",
                plan.addr, report.refused, GIVE_UP_AFTER
            ));
            report.unsent += (plan.total() - n) as usize;
            break;
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
        assert_eq!(report.failed(), report.sent(), "{report}");
        assert_eq!(report.timed_out, report.sent(), "{report}");
        // Timeouts are not round trips: no percentile from them.
        assert!(report.latencies.is_empty(), "{report}");
        assert!(
            report
                .verdict(plan.addr)
                .is_some_and(|v| v.contains("accepted connections but answered none")),
            "{report}"
        );
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
        // A client's --addr is the service's: port 0 means nothing here.
        assert!(!help.to_string().contains("port 0"), "{help}");
        let err = parse_args(&["--scenario", "high", "--addr", "127.0.0.1:0"])
            .err()
            .unwrap();
        assert!(err.contains("port 0 is not a service's port"), "{err}");
    }

    /// Against a closed port the run went on for its whole length (30 s)
    /// and counted the refusals as round trips: now it stops after
    /// [`GIVE_UP_AFTER`] and says nothing listens.
    #[test]
    fn a_closed_port_stops_the_run_early_and_is_named() {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = free.local_addr().unwrap();
        drop(free);
        let plan = Plan {
            addr,
            rate: 50,
            duration: Duration::from_secs(30),
            name: "closed".into(),
        };
        let started = Instant::now();
        let report = run_with(&plan, Duration::from_secs(1), 20);
        assert!(started.elapsed() < Duration::from_secs(20), "{report}");
        assert!(report.latencies.is_empty(), "{report}");
        assert_eq!(report.scheduled() as u64, plan.total(), "{report}");
        let why = report.verdict(addr).unwrap();
        assert!(
            why.contains("nothing listens") && why.contains("stopped early"),
            "{why}"
        );
    }

    /// 275 of 300 requests failing exited 0: now a share over
    /// [`MAX_FAILED_SHARE`] fails the run, with the counts by kind.
    #[test]
    fn too_many_failures_fail_the_run() {
        let addr: SocketAddr = DEFAULT_ADDR.parse().unwrap();
        let mut report = Report::default();
        let answer = |status: u16| http::Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            elapsed: Duration::from_millis(1),
        };
        for _ in 0..25 {
            report.record((Duration::from_millis(1), Ok(answer(202))));
        }
        for _ in 0..275 {
            let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
            report.record((Duration::from_micros(50), Err(refused)));
        }
        assert_eq!((report.sent(), report.failed()), (300, 275));
        assert_eq!(report.latencies.len(), 25, "refusals are not round trips");
        let why = report.verdict(addr).unwrap();
        assert!(why.contains("275 of 300 requests failed"), "{why}");
        assert!(report.to_string().contains("275 refused"), "{report}");
        let mut fine = Report::default();
        fine.record((Duration::from_millis(1), Ok(answer(202))));
        fine.record((Duration::from_millis(1), Ok(answer(503))));
        assert_eq!(fine.verdict(addr), None);
    }
}
