//! A profile → a short, stable text: what a snapshot holds and the book shows.
//!
//! A profile differs on every run, so the summary never shows a raw count.
//! It shows:
//!
//! - the event total (CPU samples, or contentions for a block or mutex
//!   profile) as a floor the day asks for (`≥ 150`), or, when the floor is
//!   missed, the plain fact that there were too few, and nothing else;
//! - the workload's **own** frames (functions of the program's crates, see
//!   [`crate::own`], with the crate name dropped so a lab and its solution
//!   read the same), ranked by the share of the weight (samples, or delay) on
//!   stacks that hold them (go tool pprof's `cum`), shown as coarse bands.
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
    /// The range, in percent, a check expects this share in, once it has
    /// held ([`Summary::keep_checked`]): then the summary prints the range,
    /// not the band, so it reads the same on every run that passes.
    pub expected: Option<(f64, f64)>,
}

impl FrameShare {
    /// How a summary writes the share: the range a check held it to, once
    /// it has held (`65–92%`, or `≥ 90%` for a range reaching 100), else
    /// its band (empty below the cutoff).
    pub fn label(&self) -> String {
        match self.expected {
            Some((low, high)) if high >= 100.0 => format!("≥ {low:.0}%"),
            Some((low, high)) => format!("{low:.0}–{high:.0}%"),
            None => band(self.percent).unwrap_or("").to_string(),
        }
    }
}

/// What a summary counts and weighs, for each kind of profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Counted in samples, weighted by samples.
    Cpu,
    /// Counted in contentions, weighted by delay: where threads waited.
    Block,
    /// Counted in contentions, weighted by delay: which releases made
    /// others wait.
    Mutex,
    /// Weighted by bytes (or objects), not counted in samples: a live heap
    /// profile such as jemalloc's (`inuse_space`), whose values are
    /// estimates scaled up from sampled allocations.
    Heap,
}

impl Kind {
    /// How the profile is named in a summary: `cpu profile`, `block profile`.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Cpu => "cpu profile",
            Kind::Block => "block profile",
            Kind::Mutex => "mutex profile",
            Kind::Heap => "heap profile",
        }
    }

    /// The kind a profile's first sample type names: Go's and jemalloc's
    /// heap types (`inuse_space`, `alloc_objects`…) and labkit's
    /// contentions; anything else is read as a CPU profile. A contention
    /// profile is a block profile unless the caller knows better.
    pub fn of(profile: &Profile) -> Kind {
        match profile.sample_types.first().map(|(ty, _)| ty.as_str()) {
            Some("contentions") => Kind::Block,
            Some(ty) if ty.ends_with("_space") || ty.ends_with("_objects") => Kind::Heap,
            _ => Kind::Cpu,
        }
    }

    /// What a share is a share of: the weight the summary ranks by.
    pub fn weighed(self) -> &'static str {
        match self {
            Kind::Cpu => "samples",
            Kind::Block => "the waiting time",
            Kind::Mutex => "the waiting caused",
            Kind::Heap => "the bytes in use",
        }
    }

    fn counted(self) -> &'static str {
        match self {
            Kind::Cpu => "samples",
            Kind::Block | Kind::Mutex => "contentions",
            Kind::Heap => "bytes",
        }
    }

    /// Which sample value weighs the ranking.
    fn weight(self) -> usize {
        match self {
            Kind::Cpu | Kind::Heap => 0,
            Kind::Block | Kind::Mutex => 1,
        }
    }

    /// The sample value a summary of this kind weighs by in `profile`: a
    /// heap profile's default type (`default_sample_type`, else the last:
    /// `inuse_space` for Go's heap, `alloc_space` for its allocs), the
    /// delay of a contention profile, a CPU profile's sample count.
    pub fn weight_index(self, profile: &Profile) -> usize {
        match self {
            Kind::Heap => profile.default_value_index(),
            other => other.weight(),
        }
    }

    /// Whether `profile` has the values this kind of summary reads: a
    /// block or mutex summary weighs by delay, the second sample type.
    pub fn check(self, profile: &Profile) -> Result<(), String> {
        let types: Vec<&str> = profile
            .sample_types
            .iter()
            .map(|(t, _)| t.as_str())
            .collect();
        if types.len() > self.weight() {
            return Ok(());
        }
        Err(format!(
            "its sample types are {}: a {} needs two, a count and a delay \
             (contentions, delay), as labkit and Go write them",
            types.join(", "),
            self.title()
        ))
    }

    fn ranked_by(self) -> &'static str {
        match self {
            Kind::Cpu => "by share of samples whose stack holds them",
            Kind::Block => "by share of waiting time on stacks that hold them",
            Kind::Heap => "by share of the heap's default sample type on stacks that hold them",
            Kind::Mutex => "by share of the waiting they caused, on stacks that hold them",
        }
    }
}

/// The summary of one profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub kind: Kind,
    /// Samples or contentions.
    pub samples: i64,
    /// The floor the day asked for.
    pub min_samples: i64,
    /// Own frames at or above the cutoff, ranked.
    pub frames: Vec<FrameShare>,
    /// `(type, unit)` of the value the shares are of, and its total.
    pub weighed_by: (String, String),
    pub total: i64,
    /// Exact CPU time per thread, when the run recorded it.
    pub threads: Option<ThreadSection>,
    /// Whether any crate was known as the program's own: if not, "no own
    /// frames" says nothing about the workload.
    pub own_known: bool,
}

/// The summary of a CPU profile (the name the CPU days use).
pub type CpuSummary = Summary;

impl Summary {
    /// The share of the frame called `name`, in percent (0 if not listed).
    pub fn percent(&self, name: &str) -> f64 {
        self.frames
            .iter()
            .find(|f| f.name == name)
            .map_or(0.0, |f| f.percent)
    }

    /// Keeps only the frames a check named, in its order, each with the
    /// range it was checked against (`(name, low, high)` in percent; a high
    /// of 100 or more reads `≥ low%`).
    ///
    /// A summary's bands have edges, and a share that happens to sit near
    /// one (a producer at 3 %, a worker at 71 %) prints one band on one run
    /// and the next band on another: a snapshot of it fails for no reason.
    /// A checked summary prints what the check proved instead (each share
    /// inside a range designed with a wide margin around the workload's
    /// true share) and leaves out the frames nobody designed, whose small
    /// shares come and go with the machine.
    pub fn keep_checked(&mut self, expected: &[(&str, f64, f64)]) {
        self.frames = expected
            .iter()
            .filter_map(|&(name, low, high)| {
                let frame = self.frames.iter().find(|f| f.name == name)?;
                Some(FrameShare {
                    expected: Some((low, high)),
                    ..frame.clone()
                })
            })
            .collect();
    }

    /// The names of the listed frames, in rank order.
    pub fn ranking(&self) -> Vec<&str> {
        self.frames.iter().map(|f| f.name.as_str()).collect()
    }
}

/// Summarises a CPU profile, asking for at least `min_samples` samples.
pub fn cpu(profile: &Profile, min_samples: i64) -> Summary {
    summarise(profile, Kind::Cpu, min_samples)
}

/// Summarises a profile of any kind, asking for at least `min_samples`
/// samples or contentions.
pub fn summarise(profile: &Profile, kind: Kind, min_samples: i64) -> Summary {
    let samples = profile.total(0);
    let weight = kind.weight_index(profile);
    let total_weight = profile.total(weight);
    let mut holding: BTreeMap<String, i64> = BTreeMap::new();
    for s in &profile.samples {
        // A recursive function is counted once per stack, not once per frame.
        let own: BTreeSet<String> = s.stack.iter().filter_map(|f| profile.own.name(f)).collect();
        for name in own {
            let value = s.values.get(weight).copied().unwrap_or(0);
            let held = holding.entry(name).or_default();
            *held = held.saturating_add(value);
        }
    }
    let mut frames: Vec<FrameShare> = holding
        .into_iter()
        .map(|(name, n)| FrameShare {
            name,
            percent: percent(n, total_weight),
            expected: None,
        })
        .filter(|f| f.percent >= CUTOFF_PERCENT)
        .collect();
    frames.sort_by(|a, b| {
        band_rank(a.percent)
            .cmp(&band_rank(b.percent))
            .then_with(|| a.name.cmp(&b.name))
    });
    Summary {
        kind,
        samples,
        min_samples,
        frames,
        weighed_by: profile
            .sample_types
            .get(weight)
            .cloned()
            .unwrap_or_default(),
        total: total_weight,
        threads: None,
        own_known: !profile.own.is_empty(),
    }
}

// ANCHOR: margin
/// The sampling margin a floor of `min_samples` guarantees: a share `p`
/// measured from `n ≥ min_samples` independent samples is within
/// `1.96 × √(p(1−p)/n)` of the truth 95 % of the time, at most
/// `98 / √min_samples` points (worst case, p = ½).
pub fn margin_points(min_samples: i64) -> f64 {
    98.0 / (min_samples.max(1) as f64).sqrt()
}
// ANCHOR_END: margin

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.kind.title())?;
        let counted = self.kind.counted();
        if self.kind == Kind::Heap {
            // No floor: the values are bytes or objects, estimated from
            // the allocator's samples (one per 512 KiB allocated, scaled).
            let (ty, unit) = &self.weighed_by;
            if unit == "bytes" {
                writeln!(
                    f,
                    "{ty}: {:.1} MiB (estimated from sampled allocations)",
                    self.total as f64 / (1024.0 * 1024.0)
                )?;
            } else {
                writeln!(
                    f,
                    "{ty}: {} {unit} (estimated from sampled allocations)",
                    self.total
                )?;
            }
        } else if self.samples < self.min_samples {
            return writeln!(
                f,
                "{counted}: too few (under {}): not enough to rank anything",
                self.min_samples
            );
        }
        match self.kind {
            Kind::Cpu => writeln!(
                f,
                "{counted}: ≥ {} (a share is within ± {:.0} points, 95% of the time)",
                self.min_samples,
                margin_points(self.min_samples)
            )?,
            Kind::Block | Kind::Mutex => writeln!(f, "{counted}: ≥ {}", self.min_samples)?,
            Kind::Heap => {}
        }
        if !self.own_known {
            writeln!(f, "{NO_OWN_CRATE}")?;
        } else if self.frames.is_empty() {
            writeln!(f, "own frames: none at or above {CUTOFF_PERCENT}%")?;
        } else {
            let checked = self.frames.iter().all(|f| f.expected.is_some());
            let which = if checked { " the day checks" } else { "" };
            let ranked_by = match self.kind {
                Kind::Heap => format!("by share of {} on stacks that hold them", self.weighed_by.0),
                kind => kind.ranked_by().to_string(),
            };
            writeln!(f, "own frames{which}, {ranked_by}:")?;
            for frame in &self.frames {
                writeln!(f, "  {:<8} {}", frame.label(), frame.name)?;
            }
        }
        if let Some(threads) = &self.threads {
            write!(f, "{threads}")?;
        }
        Ok(())
    }
}

/// What a summary says when the profile named no program and had no
/// `main` to guess from.
pub const NO_OWN_CRATE: &str = "own frames: unknown: the profile names no program and shows no \
                                `main`; name your crates with --own CRATE";

/// Ratio bands against the median thread, and how each is written.
///
/// The middle band is wide on purpose: with more threads than cores, even
/// a perfectly shared queue leaves one thread up to ~1.5× the others (the
/// scheduler places 4 threads on 2 cores as 1 + 3 for a while).
const THREAD_BANDS: &[(f64, &str)] = &[
    (3.0, "≥ 3×"),
    (2.0, "2–3×"),
    (0.5, "0.5–2×"),
    (0.0, "under 0.5×"),
];

/// Threads and the work each did, compared with the median thread.
///
/// The work is the `labkit::work` units a thread burned, counted exactly:
/// what the code gave it, which neither the machine's speed nor its core
/// count nor a busy scheduler can change. (Its CPU time would be the
/// kernel's measure of the same work, plus whatever it spent spinning,
/// waking and being interrupted: on a 16-core machine that noise alone
/// moved a 4× worker under 3×.) If no thread burned a unit (work that is
/// not `labkit::work`), every thread is compared by exact CPU time
/// instead; the two are never mixed.
///
/// Threads spawned without a name cannot be told apart, in a profile or
/// here: they are merged into one row, `(unnamed: N threads)`, which is
/// honest about what a per-thread view of them can show. Threads of one
/// name (the same pool run several rounds) are added up.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadSection {
    /// `(name, work / median work)`, ranked.
    pub rows: Vec<(String, f64)>,
    /// Whether the work is counted in units (else in CPU time).
    pub by_units: bool,
}

impl ThreadSection {
    /// Merges threads by name and ranks them against the median.
    pub fn new(entries: &[crate::threads::Entry]) -> ThreadSection {
        let by_units = entries.iter().any(|e| e.units > 0);
        let mut by_name: BTreeMap<String, u64> = BTreeMap::new();
        let unnamed = entries.iter().filter(|e| e.name.is_none()).count();
        for crate::threads::Entry {
            name,
            cpu_ns,
            units,
            ..
        } in entries
        {
            let key = match name {
                Some(n) => n.clone(),
                None => format!("(unnamed: {unnamed} threads)"),
            };
            *by_name.entry(key).or_default() += if by_units { *units } else { *cpu_ns };
        }
        let mut times: Vec<u64> = by_name.values().copied().collect();
        times.sort_unstable();
        let median = times.get(times.len() / 2).copied().unwrap_or(1).max(1) as f64;
        let mut rows: Vec<(String, f64)> = by_name
            .into_iter()
            .map(|(name, ns)| (name, ns as f64 / median))
            .collect();
        let rank = |r: f64| THREAD_BANDS.iter().position(|(edge, _)| r >= *edge);
        rows.sort_by(|a, b| rank(a.1).cmp(&rank(b.1)).then_with(|| a.0.cmp(&b.0)));
        ThreadSection { rows, by_units }
    }

    /// The ratio to the median of the thread called `name`.
    pub fn ratio(&self, name: &str) -> Option<f64> {
        self.rows.iter().find(|(n, _)| n == name).map(|(_, r)| *r)
    }

    /// Whether any thread was spawned without a name.
    pub fn has_unnamed(&self) -> bool {
        self.rows.iter().any(|(n, _)| n.starts_with("(unnamed"))
    }
}

impl fmt::Display for ThreadSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rows.is_empty() {
            return writeln!(
                f,
                "threads: none recorded (wrap each thread's body in labkit::threads::account)"
            );
        }
        if self.by_units {
            writeln!(
                f,
                "threads, by work done (labkit::work units, counted exactly) against the median thread:"
            )?;
        } else {
            writeln!(f, "threads, by exact CPU time against the median thread:")?;
        }
        for (name, ratio) in &self.rows {
            let label = THREAD_BANDS
                .iter()
                .find(|(edge, _)| *ratio >= *edge)
                .map_or("", |(_, l)| *l);
            writeln!(f, "  {label:<11} {name}")?;
        }
        Ok(())
    }
}

fn percent(n: i64, total: i64) -> f64 {
    if total == 0 {
        0.0
    } else {
        100.0 * n as f64 / total as f64
    }
}

/// The position of the band `percent` falls in (0 is the highest).
pub fn band_rank(percent: f64) -> usize {
    BANDS
        .iter()
        .position(|(edge, _)| percent >= *edge)
        .unwrap_or(BANDS.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::own::Own;
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
                    labels: Vec::new(),
                })
                .collect(),
            own: Own::crates(["lab_1"]),
            duration_ns: 0,
            default_sample_type: None,
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
             samples: ≥ 50 (a share is within ± 14 points, 95% of the time)\n\
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
        let text = cpu(&profile(&[(&["lab_1::x"], 3)]), 200).to_string();
        assert_eq!(
            text,
            "cpu profile\nsamples: too few (under 200): not enough to rank anything\n"
        );
        let text = cpu(&profile(&[(&["std::x"], 300)]), 200).to_string();
        assert!(text.contains("own frames: none"), "{text}");
        let mut p = profile(&[(&["std::x"], 300)]);
        p.own = Own::default();
        let text = cpu(&p, 200).to_string();
        assert!(text.ends_with(&format!("{NO_OWN_CRATE}\n")), "{text}");
    }

    #[test]
    fn a_heap_profile_is_read_as_heap_in_bytes_with_no_sample_floor() {
        let mib = 1024 * 1024;
        let mut p = profile(&[
            (&["lab_1::main", "lab_1::cache"], 3 * mib),
            (&["lab_1::main", "lab_1::log"], mib),
        ]);
        p.sample_types = vec![("inuse_space".into(), "bytes".into())];
        assert_eq!(Kind::of(&p), Kind::Heap);
        let text = summarise(&p, Kind::Heap, 100).to_string();
        assert_eq!(
            text,
            "heap profile\n\
             inuse_space: 4.0 MiB (estimated from sampled allocations)\n\
             own frames, by share of inuse_space on stacks that hold them:\n  \
             ≥ 90%    main\n  \
             70–90%   cache\n  \
             10–30%   log\n"
        );
        p.sample_types = vec![("alloc_objects".into(), "count".into())];
        assert_eq!(Kind::of(&p), Kind::Heap);
    }

    /// Go's four heap types, alloc_objects first: the summary weighs by
    /// the default type (the last, inuse_space; alloc_space for `allocs`),
    /// never by the first, which counts objects.
    #[test]
    fn a_heap_profile_with_go_s_four_types_is_weighed_by_its_default_type() {
        let mib = 1024 * 1024;
        let mut p = profile(&[]);
        p.sample_types = [
            "alloc_objects",
            "alloc_space",
            "inuse_objects",
            "inuse_space",
        ]
        .iter()
        .map(|t| {
            let unit = if t.ends_with("objects") {
                "count"
            } else {
                "bytes"
            };
            (t.to_string(), unit.to_string())
        })
        .collect();
        p.samples = vec![
            Sample {
                stack: vec!["lab_1::main".into(), "lab_1::churn".into()],
                values: vec![9_000_000, 90 * mib, 0, 0],
                thread: None,
                labels: Vec::new(),
            },
            Sample {
                stack: vec!["lab_1::main".into(), "lab_1::hold".into()],
                values: vec![1_000, 10 * mib, 1_000, 10 * mib],
                thread: None,
                labels: Vec::new(),
            },
        ];
        let heap = summarise(&p, Kind::Heap, 100);
        assert_eq!(heap.percent("churn"), 0.0, "{heap}");
        assert_eq!(heap.percent("hold"), 100.0, "{heap}");
        assert!(
            heap.to_string()
                .contains("inuse_space: 10.0 MiB (estimated from sampled allocations)"),
            "{heap}"
        );
        p.default_sample_type = Some("alloc_space".into());
        let allocs = summarise(&p, Kind::Heap, 100);
        assert_eq!(allocs.percent("churn"), 90.0, "{allocs}");
        assert_eq!(allocs.percent("hold"), 10.0, "{allocs}");
        assert!(
            allocs.to_string().contains("alloc_space: 100.0 MiB"),
            "{allocs}"
        );
    }

    #[test]
    fn contention_profiles_are_counted_in_contentions_and_ranked_by_delay() {
        let p = Profile {
            sample_types: vec![
                ("contentions".into(), "count".into()),
                ("delay".into(), "nanoseconds".into()),
            ],
            samples: vec![
                Sample {
                    stack: vec!["lab_1::deliver".into()],
                    values: vec![1, 800],
                    thread: None,
                    labels: Vec::new(),
                },
                Sample {
                    stack: vec!["lab_1::produce".into()],
                    values: vec![99, 200],
                    thread: None,
                    labels: Vec::new(),
                },
            ],
            own: Own::crates(["lab_1"]),
            duration_ns: 0,
            default_sample_type: None,
        };
        let s = summarise(&p, Kind::Block, 50);
        assert_eq!(
            s.ranking(),
            ["deliver", "produce"],
            "ranked by delay, not by count"
        );
        assert!(
            s.to_string()
                .starts_with("block profile\ncontentions: ≥ 50\n"),
            "{s}"
        );
    }
}

#[cfg(test)]
mod thread_tests {
    use super::*;

    fn entry(name: Option<&str>, cpu_ns: u64) -> crate::threads::Entry {
        crate::threads::Entry {
            name: name.map(str::to_string),
            cpu_ns,
            start_ns: 0,
            end_ns: 1,
            idle_ns: 0,
            units: 0,
        }
    }

    #[test]
    fn threads_are_ranked_against_the_median_and_unnamed_ones_merged() {
        let named = ThreadSection::new(&[
            entry(Some("worker-0"), 400),
            entry(Some("worker-1"), 100),
            entry(Some("worker-2"), 110),
            entry(Some("worker-3"), 95),
        ]);
        assert_eq!(
            named.to_string(),
            "threads, by exact CPU time against the median thread:\n  \
             ≥ 3×        worker-0\n  \
             0.5–2×      worker-1\n  \
             0.5–2×      worker-2\n  \
             0.5–2×      worker-3\n"
        );
        let unnamed = ThreadSection::new(&[entry(None, 400), entry(None, 100), entry(None, 100)]);
        assert!(unnamed.has_unnamed());
        assert_eq!(unnamed.rows, [("(unnamed: 3 threads)".to_string(), 1.0)]);
        // Units, where counted, outweigh CPU time: the work given decides.
        let mut by_units = [
            entry(Some("worker-0"), 100),
            entry(Some("worker-1"), 400),
            entry(Some("worker-2"), 100),
        ];
        for (e, units) in by_units.iter_mut().zip([2400, 600, 600]) {
            e.units = units;
        }
        let section = ThreadSection::new(&by_units);
        assert!(section.by_units);
        assert_eq!(section.ratio("worker-0"), Some(4.0));
        assert!(section.to_string().contains("by work done"), "{section}");
    }

    #[test]
    fn the_margin_follows_the_floor() {
        assert_eq!(format!("{:.0}", margin_points(150)), "8");
        assert_eq!(format!("{:.0}", margin_points(100)), "10");
    }
}
