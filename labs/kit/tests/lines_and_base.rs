//! A CPU profile keeps each line's samples apart, and two runs of one
//! build spell their stacks the same way, so `go tool pprof -base`
//! subtracts them line by line, as it does two profiles of one Go binary.
//!
//! Before, the sampler (pprof-rs) counted samples by each frame's function
//! and kept the first sample's addresses for the rest: every sample of
//! `burn` sat on one line, whichever came first, and locations had no
//! address or mapping, so pprof could only match two runs by that line.
//!
//! The test runs itself twice as a child (two processes: the program loads
//! at a different address each time), each burning CPU in
//! `labkit::work::burn` until its profile holds [`SAMPLES`] samples.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use labkit::capture::{Capture, until_sampled};
use labkit::proto::Profile;

mod common;
use common::go_present;

/// Samples each run collects: enough that the hot addresses of `burn` are
/// all seen in both runs, whatever the kernel's tick.
const SAMPLES: u64 = 300;

const OUT: &str = "LABKIT_LINES_OUT";

/// The child's side: profile `burn` and write the profile where asked.
#[test]
fn child() {
    let Some(out) = std::env::var_os(OUT) else {
        return;
    };
    let capture = Capture::start().unwrap();
    let mut x = 1;
    for _ in until_sampled(1, SAMPLES) {
        x = labkit::work::burn(1, x);
    }
    std::hint::black_box(x);
    let recorded = capture.stop().unwrap();
    let mut bytes = Vec::new();
    recorded.write_pprof(&mut bytes).unwrap();
    std::fs::write(out, bytes).unwrap();
}

fn run_child(out: &Path) -> Profile {
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture"])
        .env(OUT, out)
        .status()
        .unwrap();
    assert!(status.success());
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(out).unwrap()),
        &mut bytes,
    )
    .unwrap();
    prost::Message::decode(&bytes[..]).unwrap()
}

/// `burn`'s samples by where they fell: (address minus its mapping's
/// start, as pprof keys a location when it merges) → (line, samples).
fn burn_by_address(p: &Profile) -> BTreeMap<u64, (i64, i64)> {
    let name = |i: i64| p.string_table[i as usize].as_str();
    let mut out = BTreeMap::new();
    for sample in &p.sample {
        let Some(&leaf) = sample.location_id.first() else {
            continue;
        };
        let loc = &p.location[leaf as usize - 1];
        let Some(line) = loc.line.iter().find(|l| {
            let f = &p.function[l.function_id as usize - 1];
            name(f.name) == "labkit::work::burn"
        }) else {
            continue;
        };
        assert!(loc.address != 0 && loc.mapping_id != 0, "{loc:?}");
        let mapping = &p.mapping[loc.mapping_id as usize - 1];
        assert!(
            (mapping.memory_start..mapping.memory_limit).contains(&loc.address),
            "{loc:?} outside {mapping:?}"
        );
        let entry = out
            .entry(loc.address - mapping.memory_start)
            .or_insert((line.line, 0));
        entry.1 += sample.value[0];
    }
    out
}

/// Every location of `burn` (leaf or caller), by address relative to its
/// mapping.
fn burn_locations(p: &Profile) -> BTreeSet<u64> {
    p.location
        .iter()
        .filter(|loc| {
            loc.line.iter().any(|l| {
                let f = &p.function[l.function_id as usize - 1];
                p.string_table[f.name as usize] == "labkit::work::burn"
            })
        })
        .map(|loc| loc.address - p.mapping[loc.mapping_id as usize - 1].memory_start)
        .collect()
}

#[test]
fn lines_are_kept_apart_and_two_runs_cancel_line_by_line() {
    if std::env::var_os(OUT).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (a_path, b_path) = (dir.path().join("a.pb.gz"), dir.path().join("b.pb.gz"));
    let (a, b) = (run_child(&a_path), run_child(&b_path));
    let (burn_a, burn_b) = (burn_by_address(&a), burn_by_address(&b));

    // Lines: burn's samples fall on more than one line of work.rs.
    let lines: BTreeSet<i64> = burn_a.values().map(|&(line, _)| line).collect();
    assert!(
        lines.len() >= 2,
        "every sample of burn sits on one line: {lines:?}"
    );

    // Two runs: nearly all of b's samples of burn sit at addresses a has
    // too, once each address is taken relative to its mapping.
    let total_b: i64 = burn_b.values().map(|&(_, n)| n).sum();
    let shared_b: i64 = burn_b
        .iter()
        .filter(|(addr, _)| burn_a.contains_key(addr))
        .map(|(_, &(_, n))| n)
        .sum();
    assert!(
        total_b > 0 && shared_b * 10 >= total_b * 8,
        "only {shared_b} of b's {total_b} samples of burn are at an address a has: \
         a {burn_a:?}, b {burn_b:?}"
    );

    if !go_present() {
        return;
    }
    let pprof = |args: &[&str]| {
        let out = Command::new("go")
            .args(["tool", "pprof"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let (a_file, b_file) = (a_path.to_str().unwrap(), b_path.to_str().unwrap());
    // `-list` annotates more than one line of burn with samples.
    let list = pprof(&["-list", "labkit::work::burn$", a_file]);
    // `  331.70ms   331.70ms     58:        x ^= x >> 7;`
    let annotated = list
        .lines()
        .filter(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.len() > 2
                && cols[0] != "."
                && cols[2]
                    .strip_suffix(':')
                    .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .count();
    assert!(
        annotated >= 2,
        "-list annotates {annotated} line(s):\n{list}"
    );
    // `-base A A`: a profile less itself is nothing, sample for sample.
    let itself = pprof(&["-top", "-base", a_file, a_file]);
    assert!(
        itself.contains("Showing nodes accounting for 0, 0% of 0 total"),
        "-base A A left something:\n{itself}"
    );
    // `-base`: pprof merges the two runs' locations, one per address.
    let raw = pprof(&["-raw", "-base", a_file, b_file]);
    let merged = raw
        .split("Locations")
        .nth(1)
        .unwrap_or("")
        .lines()
        .filter(|l| l.contains("labkit::work::burn "))
        .count();
    let distinct: BTreeSet<u64> = burn_locations(&a)
        .union(&burn_locations(&b))
        .copied()
        .collect();
    assert!(
        merged <= distinct.len(),
        "-base kept {merged} locations of burn for {} distinct addresses:\n{raw}",
        distinct.len()
    );
}
