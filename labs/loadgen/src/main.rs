//! `cargo run -p loadgen -- --scenario normal|high|burst [--addr A] [--duration S]`
//!
//! Drives the Day 089 service with the Go seeds' load scenarios and prints
//! what every request it sent came back with.

use std::process::ExitCode;

fn main() -> ExitCode {
    // --help goes to stdout and exits 0; a bad flag exits 2, named.
    let plan = loadgen::parse(std::env::args_os()).unwrap_or_else(|e| e.exit());
    println!(
        "{}: POST /load to {} at {}/s for {} s ({} requests)",
        plan.name,
        plan.addr,
        plan.rate,
        plan.duration.as_secs(),
        plan.total()
    );
    let report = loadgen::run(&plan);
    println!("{report}");
    if report.accepted == 0 {
        eprintln!(
            "loadgen: no request was accepted: is the service running on {}?",
            plan.addr
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
