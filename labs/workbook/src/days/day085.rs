//! Day 085, the block profile: a pipeline whose CPU is idle must show, in
//! its block profile, the workers waiting to hand results to a slow
//! consumer.

use std::fmt;
use std::path::Path;

use crate::verdict::Failure;
use labkit::profile::{self, LoadError};
use labkit::summary::{self, Kind, Summary};

pub const DAY: &str = crate::registry::module_day(module_path!());
/// What the lab as shipped fails with, from its registry entry.
const SYMPTOM: &str = crate::registry::symptom(DAY);
/// The question a red self-check asks: where to look, never the fix.
const FIRST_HINT: &str = crate::registry::first_hint(DAY);

/// The day's flags, by name: `--workers N --items N`. The defaults are the
/// Go seed's 400 goroutines and 4000 items, scaled to a 2-core machine and
/// a one-second run.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct Flags {
    /// Worker threads between the two channels
    #[arg(long, value_name = "N", default_value_t = 4, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u64).range(1..=256))]
    pub workers: u64,
    /// Items the producer sends
    #[arg(long, value_name = "N", default_value_t = 400, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub items: u64,
}

/// Floors the summaries ask for. The run makes about 800 contentions; its
/// CPU profile, by design, has far fewer than 100 samples: the CPU is idle.
pub const MIN_CONTENTIONS: i64 = 100;
pub const MIN_CPU_SAMPLES: i64 = 100;

const RATE_HINT: &str = "like Go's runtime.SetBlockProfileRate, labkit's block rate is 0 (off) by \
default: call labkit::contention::set_block_profile_rate(1)? before the pipeline starts";

/// What the day's run shows: its CPU profile and its block profile.
#[derive(Debug, Clone)]
pub struct Profiles {
    pub cpu: Summary,
    pub block: Summary,
}

/// The function each kind of thread runs, and how many of them the
/// pipeline has by default: the waiting splits by these counts.
pub const THREADS: [(&str, &str); 2] = [("worker", "4 workers"), ("produce", "1 producer")];

impl fmt::Display for Profiles {
    /// The block profile by thread, not by wait site. Where a worker waits
    /// (handing a result to the consumer in `deliver`, or for work from the
    /// producer) moves with the machine's load: a producer preempted by
    /// other programs leaves the workers waiting for work. That the four
    /// workers wait four times as long as the one producer does not move:
    /// every thread of the pipeline waits on the slow consumer somehow.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // How many samples the idle pipeline's CPU profile holds depends on
        // the machine (its speed, its kernel's tick), so it is not printed:
        // on a 1000 Hz kernel the same run gives four times as many.
        writeln!(
            f,
            "cpu profile: not ranked (the pipeline waits far more than it works)"
        )?;
        writeln!(f, "block profile")?;
        if self.block.samples < self.block.min_samples {
            return writeln!(f, "contentions: too few (under {})", self.block.min_samples);
        }
        writeln!(f, "contentions: ≥ {}", self.block.min_samples)?;
        writeln!(f, "waiting time by thread (stacks that hold its function):")?;
        // The range the check held each share to, once it has held: a band
        // computed from this run would flip when a share sits near its edge.
        for (name, who) in THREADS {
            let band = self
                .block
                .frames
                .iter()
                .find(|f| f.name == name)
                .map_or_else(|| "under 3%".to_string(), |f| f.label());
            writeln!(f, "  {band:<8} {name} ({who})")?;
        }
        Ok(())
    }
}

/// Reads `dir/cpu.pb.gz` and `dir/block.pb.gz` and checks them.
pub fn check(dir: &Path) -> Result<Profiles, Failure> {
    let fail = |symptom: String, hint: &'static str| Failure {
        day: DAY,
        symptom,
        hint,
    };
    let unreadable = |e: LoadError| {
        fail(
            format!("a profile cannot be read: {e}"),
            "run the program again and read what it printed when it stopped",
        )
    };
    let cpu = profile::load(&dir.join("cpu.pb.gz")).map_err(unreadable)?;
    let block = profile::load(&dir.join("block.pb.gz")).map_err(unreadable)?;
    let cpu = summary::summarise(&cpu, Kind::Cpu, MIN_CPU_SAMPLES);
    let mut block = summary::summarise(&block, Kind::Block, MIN_CONTENTIONS);
    if block.samples == 0 {
        return Err(fail(SYMPTOM.into(), FIRST_HINT));
    }
    if block.samples < MIN_CONTENTIONS {
        return Err(fail(
            format!(
                "block profile has only {} contentions (want at least {MIN_CONTENTIONS}): was \
                 the rate set above 1, or set after the pipeline ran?",
                block.samples
            ),
            RATE_HINT,
        ));
    }
    // Four workers against one producer, by the pipeline's design: the
    // waiting splits about 4:1 whatever else the machine is doing.
    crate::verdict::expect_shares(
        DAY,
        &mut block,
        &[("worker", 65.0, 92.0), ("produce", 8.0, 35.0)],
        "run with the default --workers and --items, and keep the consumer's delay",
    )?;
    Ok(Profiles { cpu, block })
}

/// Checks what a run wrote into `dir` and prints the closing lines.
pub fn report(dir: &Path) {
    let files = ["cpu.pb.gz", "block.pb.gz", "block.svg"].map(|f| dir.join(f));
    crate::verdict::report(&files, &check(dir));
}
