//! `cargo run -p loadgen -- --scenario normal|high|burst [--addr A] [--duration S]`
//!
//! The Go seed's load scenarios against the Day 089 service: `POST /load`
//! at a steady rate for a while, then the round-trip percentiles. Loopback
//! only, bounded in count and time.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, ValueEnum};
use labkit::cli::Listen;
use labkit::http::{self, quantile};

/// Where the Day 089 service listens unless told otherwise (its `--addr`
/// default). Give `--addr` to drive a service elsewhere.
const DEFAULT_ADDR: &str = "127.0.0.1:8089";
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

struct Plan {
    addr: SocketAddr,
    rate: u64,
    duration: Duration,
    name: String,
}

/// The plan a command line asks for; errors name the flag (clap's, or
/// `--addr` when it is not on loopback: this tool only loads your own
/// machine).
fn parse<I, T>(args: I) -> Result<Plan, clap::Error>
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

fn main() -> ExitCode {
    // --help goes to stdout and exits 0; a bad flag exits 2, named.
    let plan = parse(std::env::args_os()).unwrap_or_else(|e| e.exit());
    println!(
        "{}: POST /load to {} at {}/s for {} s",
        plan.name,
        plan.addr,
        plan.rate,
        plan.duration.as_secs()
    );
    let (latencies, errors) = run(&plan);
    if latencies.is_empty() {
        eprintln!(
            "loadgen: no request succeeded ({errors} failed): is the service running on {}?",
            plan.addr
        );
        return ExitCode::FAILURE;
    }
    println!(
        "{} requests, {errors} failed; p50 {:?}, p90 {:?}, p99 {:?}",
        latencies.len(),
        quantile(&latencies, 0.5),
        quantile(&latencies, 0.9),
        quantile(&latencies, 0.99)
    );
    ExitCode::SUCCESS
}

/// Sends requests on a fixed schedule (not "as fast as answers come"), so a
/// slow service cannot slow the load down and hide its own latency.
fn run(plan: &Plan) -> (Vec<Duration>, usize) {
    let gap = Duration::from_secs(1) / plan.rate as u32;
    let total = plan.rate * plan.duration.as_secs();
    let start = Instant::now();
    let mut pending = Vec::new();
    for n in 0..total {
        let due = start + gap * n as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let addr = plan.addr;
        pending.push(std::thread::spawn(move || {
            http::request(addr, "POST", "/load", Some(BODY), Duration::from_secs(10))
        }));
        // Reap finished requests so threads do not pile up.
        if pending.len() > 64 {
            pending.retain(|h: &std::thread::JoinHandle<_>| !h.is_finished());
        }
    }
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for h in pending {
        match h.join() {
            Ok(Ok(r)) if r.status == 202 => latencies.push(r.elapsed),
            _ => errors += 1,
        }
    }
    (latencies, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

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
