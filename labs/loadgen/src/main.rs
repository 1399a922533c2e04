//! `cargo run -p loadgen -- --scenario normal|high|burst [--addr A] [--duration S]`
//!
//! The Go seed's load scenarios against the Day 089 service: `POST /load`
//! at a steady rate for a while, then the round-trip percentiles. Loopback
//! only, bounded in count and time.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use labkit::http::{self, quantile};

/// name, requests per second, seconds — from the seed's load scripts.
const SCENARIOS: &[(&str, u64, u64)] = &[("normal", 10, 30), ("high", 50, 20), ("burst", 100, 10)];
const BODY: &str = r#"{"workers": 2, "items": 20}"#;

struct Plan {
    addr: SocketAddr,
    rate: u64,
    duration: Duration,
    name: &'static str,
}

fn usage() -> String {
    let names: Vec<String> = SCENARIOS
        .iter()
        .map(|(n, r, s)| format!("{n} ({r}/s for {s} s)"))
        .collect();
    format!(
        "usage: loadgen --scenario NAME [--addr HOST:PORT] [--duration SECONDS]\n\n  --scenario  {}\n  --addr      the service (default {}; loopback only)\n  --duration  override the scenario's length, 1–600 s",
        names.join(", "),
        labkit::days::day089::PORT
    )
}

fn parse(args: Vec<String>) -> Result<Plan, String> {
    let mut scenario = None;
    let mut addr: SocketAddr = labkit::days::day089::PORT.parse().expect("a valid default");
    let mut duration = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{arg} needs a value\n\n{}", usage()))
        };
        match arg.as_str() {
            "--scenario" => {
                let v = value()?;
                scenario =
                    Some(*SCENARIOS.iter().find(|(n, _, _)| *n == v).ok_or_else(|| {
                        format!("--scenario {v:?}: expected normal, high or burst")
                    })?);
            }
            "--addr" => {
                let v = value()?;
                addr = v
                    .parse()
                    .ok()
                    .filter(|a: &SocketAddr| a.ip().is_loopback())
                    .ok_or_else(|| {
                        format!(
                            "--addr {v:?}: expected a loopback HOST:PORT such as 127.0.0.1:8089"
                        )
                    })?;
            }
            "--duration" => {
                let v = value()?;
                let secs = v
                    .parse::<u64>()
                    .ok()
                    .filter(|s| (1..=600).contains(s))
                    .ok_or_else(|| {
                        format!("--duration {v:?}: expected whole seconds from 1 to 600")
                    })?;
                duration = Some(Duration::from_secs(secs));
            }
            "-h" | "--help" => return Err(usage()),
            other => return Err(format!("unknown argument {other:?}\n\n{}", usage())),
        }
    }
    let (name, rate, secs) =
        scenario.ok_or_else(|| format!("--scenario is required\n\n{}", usage()))?;
    Ok(Plan {
        addr,
        rate,
        duration: duration.unwrap_or(Duration::from_secs(secs)),
        name,
    })
}

fn main() -> ExitCode {
    let plan = match parse(std::env::args().skip(1).collect()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::from(2);
        }
    };
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

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn scenarios_are_the_seeds_and_bad_input_is_named() {
        let p = parse(args(&["--scenario", "burst"])).ok().unwrap();
        assert_eq!((p.rate, p.duration), (100, Duration::from_secs(10)));
        let p = parse(args(&["--scenario", "normal", "--duration", "2"]))
            .ok()
            .unwrap();
        assert_eq!((p.rate, p.duration), (10, Duration::from_secs(2)));
        assert!(
            parse(args(&["--scenario", "huge"]))
                .err()
                .unwrap()
                .contains("\"huge\"")
        );
        assert!(
            parse(args(&["--scenario", "high", "--addr", "10.0.0.1:80"]))
                .err()
                .unwrap()
                .contains("loopback")
        );
        assert!(
            parse(args(&["--scenario", "high", "--duration", "0"]))
                .err()
                .unwrap()
                .contains("1 to 600")
        );
        assert!(
            parse(args(&[]))
                .err()
                .unwrap()
                .contains("--scenario is required")
        );
    }
}
