//! Day 093, compare before and after: the lab.
//!
//! A request handler in two versions: `parse`, `validate` and `render`,
//! where the new version moved some work from one step to another. The
//! program profiles the old version and the new one, compares the
//! profiles, and writes its verdict — which steps got slower, which
//! faster — to `verdict.txt`, with a differential flame graph beside it.
//!
//! Run it (`cargo run -p lab-093`) and read the verdict. Fix the
//! comparison, then self-check with `cargo test -p lab-093`. The page is
//! `book/day-093.md`.

use std::hint::black_box;

use labkit::Error;
use labkit::capture::{Capture, until_sampled};
use labkit::profile::Profile;
use labkit::work::burn;
use workbook::days::day093::{self, Costs, SAMPLES, Verdict, Version};

fn main() -> Result<(), Error> {
    let out_dir = workbook::this_day!().out_dir();

    // ANCHOR: runs
    // One run of each version. The new version was profiled on a busier
    // day: its run served twice the requests.
    let before = profile_runs(&out_dir, Version::Before, 1, SAMPLES)?;
    let after = profile_runs(&out_dir, Version::After, 1, 2 * SAMPLES)?;
    // ANCHOR_END: runs

    let verdict = compare(&before, &after);
    day093::save(&out_dir, &verdict, &before, &after)?;
    workbook::this_day!().report(&out_dir);
    Ok(())
}

// ANCHOR: compare
/// Which steps got slower, and which faster: each step's samples in the
/// new version's profile against the old one's.
fn compare(before: &[Profile], after: &[Profile]) -> Verdict {
    let mut verdict = Verdict::default();
    for step in day093::FUNCTIONS {
        let (old, new) = (
            day093::samples_in(before, step),
            day093::samples_in(after, step),
        );
        if new > old {
            verdict.slower.push(step.to_string());
        } else if new < old {
            verdict.faster.push(step.to_string());
        }
    }
    verdict
}
// ANCHOR_END: compare

/// Profiles `runs` runs of `version`, each serving requests until its
/// profile holds `samples` samples, and saves each profile under the
/// output directory.
fn profile_runs(
    out_dir: &std::path::Path,
    version: Version,
    runs: usize,
    samples: u64,
) -> Result<Vec<Profile>, Error> {
    let mut profiles = Vec::new();
    for run in 1..=runs {
        let capture = Capture::start()?;
        black_box(serve(version.costs(), samples));
        let recorded = capture.stop()?;
        day093::save_run(out_dir, version, run, &recorded)?;
        profiles.push(recorded.profile().clone());
    }
    Ok(profiles)
}

// ANCHOR: handler
#[inline(never)]
fn serve(costs: Costs, samples: u64) -> u64 {
    // Requests keep coming until the profile holds `samples` samples.
    until_sampled(1, samples).fold(0, |digest, request| digest ^ handle(costs, request))
}

#[inline(never)]
fn handle(costs: Costs, request: u64) -> u64 {
    let parsed = parse(costs.parse, request);
    let valid = validate(costs.validate, parsed);
    render(costs.render, valid)
}

#[inline(never)]
fn parse(units: u64, request: u64) -> u64 {
    burn(units, request).rotate_left(1)
}

#[inline(never)]
fn validate(units: u64, parsed: u64) -> u64 {
    burn(units, parsed).rotate_left(3)
}

#[inline(never)]
fn render(units: u64, valid: u64) -> u64 {
    burn(units, valid).rotate_left(7)
}
// ANCHOR_END: handler
