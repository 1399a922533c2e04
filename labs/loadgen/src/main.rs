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
    // Non-zero when the run says nothing about the service under load:
    // nothing listened, nothing was taken, or too many requests failed.
    match report.verdict(plan.addr) {
        None => ExitCode::SUCCESS,
        Some(why) => {
            eprintln!("loadgen: {why}");
            ExitCode::FAILURE
        }
    }
}
