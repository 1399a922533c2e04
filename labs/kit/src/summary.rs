//! A profile → a short, stable text: what a snapshot holds and the book shows.
//!
//! A sampling profile differs on every run, so the summary never shows a raw
//! count. It shows:
//!
//! - the sample total as a floor the day asks for (`≥ 200`), or, when the
//!   floor is missed, the plain fact that there were too few;
//! - the workload's **own** frames (functions of crates named `lab_*` or
//!   `solution_*`, with the crate name dropped so a lab and its solution read
//!   the same), ranked by the share of samples whose stack holds them (go
//!   tool pprof's `cum`), shown as coarse bands.
//!
//! Frames under 3 % are left out, and so are closures (`{{closure}}`), whose
//! cost is already in their callers. Ties within a band are ordered by name,
//! so the order depends on bands alone. Workloads are designed to sit in the
//! middle of a band, far from its edges; see the book's page on reading a
//! summary.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::profile::Profile;

/// Band lower edges in percent, and how each band is written.
const BANDS: &[(f64, &str)] = &[
    (90.0, "≥ 90%"),
    (70.0, "70–90%"),
    (50.0, "50–70%"),
    (30.0, "30–50%"),
    (10.0, "10–30%"),
    (3.0, "3–10%"),
];

/// Below this share a frame is not listed.
pub const CUTOFF_PERCENT: f64 = 3.0;

/// The band a share in percent falls into, or `None` below the cutoff.
pub fn band(percent: f64) -> Option<&'static str> {
    BANDS
        .iter()
        .find(|(edge, _)| percent >= *edge)
        .map(|(_, label)| *label)
}

/// One of the workload's own frames and its share.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameShare {
    /// The function's path without its crate, e.g. `checksum`.
    pub name: String,
    /// Percent of all samples whose stack holds this frame.
    pub percent: f64,
}

/// The summary of one CPU profile.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuSummary {
    pub samples: i64,
    /// The floor the day asked for.
    pub min_samples: i64,
    /// Own frames at or above the cutoff, ranked.
    pub frames: Vec<FrameShare>,
}

impl CpuSummary {
    /// The share of the frame called `name`, in percent (0 if not listed).
    pub fn percent(&self, name: &str) -> f64 {
        self.frames
            .iter()
            .find(|f| f.name == name)
            .map_or(0.0, |f| f.percent)
    }

    /// The names of the listed frames, in rank order.
    pub fn ranking(&self) -> Vec<&str> {
        self.frames.iter().map(|f| f.name.as_str()).collect()
    }
}

/// Summarises a CPU profile, asking for at least `min_samples` samples.
pub fn cpu(profile: &Profile, min_samples: i64) -> CpuSummary {
    let samples = profile.total(0);
    let mut holding: BTreeMap<String, i64> = BTreeMap::new();
    for s in &profile.samples {
        // A recursive function is counted once per stack, not once per frame.
        let own: BTreeSet<String> = s.stack.iter().filter_map(|f| own_name(f)).collect();
        for name in own {
            *holding.entry(name).or_default() += s.values[0];
        }
    }
    let mut frames: Vec<FrameShare> = holding
        .into_iter()
        .map(|(name, n)| FrameShare {
            name,
            percent: percent(n, samples),
        })
        .filter(|f| f.percent >= CUTOFF_PERCENT)
        .collect();
    frames.sort_by(|a, b| {
        band_rank(a.percent)
            .cmp(&band_rank(b.percent))
            .then_with(|| a.name.cmp(&b.name))
    });
    CpuSummary {
        samples,
        min_samples,
        frames,
    }
}

impl fmt::Display for CpuSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "cpu profile")?;
        if self.samples >= self.min_samples {
            writeln!(f, "samples: ≥ {}", self.min_samples)?;
        } else {
            writeln!(
                f,
                "samples: too few (under {}): not enough to rank anything",
                self.min_samples
            )?;
        }
        if self.frames.is_empty() {
            return writeln!(f, "own frames: none at or above {CUTOFF_PERCENT}%");
        }
        writeln!(f, "own frames, by share of samples whose stack holds them:")?;
        for frame in &self.frames {
            let label = band(frame.percent).unwrap_or("");
            writeln!(f, "  {label:<8} {}", frame.name)?;
        }
        Ok(())
    }
}

/// The frame's name without its crate, if it belongs to a lab or solution
/// crate and is not a closure.
pub fn own_name(frame: &str) -> Option<String> {
    let (prefix, rest) = match frame.strip_prefix('<') {
        Some(rest) => ("<", rest),
        None => ("", frame),
    };
    let (krate, path) = rest.split_once("::")?;
    let own = krate.starts_with("lab_") || krate.starts_with("solution_");
    // Closures are spelt `{{closure}}` by pprof-rs and `{closure#0}` by
    // the DWARF names the contention profiles use.
    if !own || path.contains("{{closure}}") || path.contains("{closure#") {
        return None;
    }
    Some(format!("{prefix}{path}"))
}

fn percent(n: i64, total: i64) -> f64 {
    if total == 0 {
        0.0
    } else {
        100.0 * n as f64 / total as f64
    }
}

fn band_rank(percent: f64) -> usize {
    BANDS
        .iter()
        .position(|(edge, _)| percent >= *edge)
        .unwrap_or(BANDS.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Sample;

    fn profile(stacks: &[(&[&str], i64)]) -> Profile {
        Profile {
            sample_types: vec![("samples".into(), "count".into())],
            samples: stacks
                .iter()
                .map(|(stack, n)| Sample {
                    stack: stack.iter().map(|s| s.to_string()).collect(),
                    values: vec![*n],
                    thread: None,
                })
                .collect(),
        }
    }

    #[test]
    fn bands_have_the_edges_they_say() {
        assert_eq!(band(100.0), Some("≥ 90%"));
        assert_eq!(band(90.0), Some("≥ 90%"));
        assert_eq!(band(89.9), Some("70–90%"));
        assert_eq!(band(3.0), Some("3–10%"));
        assert_eq!(band(2.9), None);
    }

    #[test]
    fn own_frames_lose_their_crate_and_closures_and_others_are_dropped() {
        assert_eq!(own_name("lab_083::worker").as_deref(), Some("worker"));
        assert_eq!(own_name("solution_083::a::b").as_deref(), Some("a::b"));
        assert_eq!(
            own_name("<solution_083::Job as core::fmt::Debug>::fmt").as_deref(),
            Some("<Job as core::fmt::Debug>::fmt")
        );
        assert_eq!(own_name("solution_083::main::{{closure}}"), None);
        assert_eq!(own_name("lab_085::run::{closure#0}"), None);
        assert_eq!(own_name("std::thread::spawn"), None);
        assert_eq!(own_name("labkit::work::burn"), None);
        assert_eq!(own_name("main"), None);
    }

    #[test]
    fn shares_are_inclusive_ranked_by_band_then_name_and_never_raw() {
        let p = profile(&[
            (
                &[
                    "std::rt",
                    "lab_1::worker",
                    "lab_1::checksum",
                    "labkit::work::burn",
                ],
                80,
            ),
            (
                &[
                    "std::rt",
                    "lab_1::worker",
                    "lab_1::encode",
                    "labkit::work::burn",
                ],
                19,
            ),
            (&["std::rt", "lab_1::tiny"], 1),
        ]);
        let s = cpu(&p, 50);
        assert_eq!(s.ranking(), ["worker", "checksum", "encode"]);
        let text = s.to_string();
        assert_eq!(
            text,
            "cpu profile\n\
             samples: ≥ 50\n\
             own frames, by share of samples whose stack holds them:\n  \
             ≥ 90%    worker\n  \
             70–90%   checksum\n  \
             10–30%   encode\n"
        );
        assert!(!text.contains("100"), "no raw counts: {text}");
    }

    #[test]
    fn a_recursive_frame_is_counted_once_per_stack() {
        let p = profile(&[(&["lab_1::walk", "lab_1::walk", "lab_1::walk"], 10)]);
        assert_eq!(cpu(&p, 1).percent("walk"), 100.0);
    }

    #[test]
    fn too_few_samples_and_no_frames_are_said_plainly() {
        let text = cpu(&profile(&[(&["std::x"], 3)]), 200).to_string();
        assert!(text.contains("too few (under 200)"), "{text}");
        assert!(text.contains("own frames: none"), "{text}");
    }
}
