//! Profiles that count things rather than sample them: Go's goroutine
//! profile (how many threads and tasks stand on each stack now) and its
//! threadcreate profile (how many threads each stack created). Their
//! numbers are exact, so a summary prints counts, not shares with a
//! sampling margin, and a comparison of two says which groups grew by how
//! many: a group that only grows from one dump to the next is a leak,
//! which is what Go users find with `go tool pprof -base old new` on two
//! goroutine profiles.
//!
//! A group is a stack's innermost own frame (the program's function
//! closest to where the thread or task stands) and, for goroutines, its
//! state (the `state` label labkit writes: `chan receive`,
//! `sync.Mutex.Lock`…).

use std::collections::BTreeMap;
use std::fmt;

use crate::profile::{Profile, Sample};

/// What a count profile counts, from its first sample type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// `goroutine`/`count`: threads and tasks standing on a stack now.
    Goroutines,
    /// `threadcreate`/`count`: threads created on a stack since start.
    ThreadsCreated,
}

impl Counted {
    /// The count profile `profile` is, if it is one.
    pub fn of(profile: &Profile) -> Option<Counted> {
        match profile.sample_types.first().map(|(t, _)| t.as_str()) {
            Some("goroutine") => Some(Counted::Goroutines),
            Some("threadcreate") => Some(Counted::ThreadsCreated),
            _ => None,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Counted::Goroutines => "goroutine profile",
            Counted::ThreadsCreated => "threadcreate profile",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Counted::Goroutines => "threads and tasks",
            Counted::ThreadsCreated => "threads created",
        }
    }
}

const NO_OWN_FRAME: &str = "(no own frame)";

/// The group of a sample: its innermost own frame (or `(no own frame)`)
/// and its state (empty when the profile has none).
fn group(profile: &Profile, sample: &Sample) -> (String, String) {
    let frame = sample
        .stack
        .iter()
        .rev()
        .find_map(|f| profile.own.path(f))
        .unwrap_or_else(|| NO_OWN_FRAME.to_string());
    let state = sample.label("state").unwrap_or("").to_string();
    (frame, state)
}

fn groups(runs: &[Profile]) -> BTreeMap<(String, String), i64> {
    let mut groups = BTreeMap::new();
    for profile in runs {
        for s in &profile.samples {
            let n = s.values.first().copied().unwrap_or(0);
            let entry: &mut i64 = groups.entry(group(profile, s)).or_default();
            *entry = entry.saturating_add(n);
        }
    }
    groups
}

/// Counts by the value of label `key` (`kind`, `state`), largest first.
fn by_label(runs: &[Profile], key: &str) -> Vec<(String, i64)> {
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for profile in runs {
        for s in &profile.samples {
            if let Some(value) = s.label(key) {
                let entry = counts.entry(value.to_string()).or_default();
                *entry = entry.saturating_add(s.values.first().copied().unwrap_or(0));
            }
        }
    }
    let mut counts: Vec<(String, i64)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
}

/// The summary of one count profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountSummary {
    pub counted: Counted,
    pub total: i64,
    /// `thread`/`task` counts (goroutine profiles).
    pub kinds: Vec<(String, i64)>,
    /// `((innermost own frame, state), count)`, largest first.
    pub groups: Vec<((String, String), i64)>,
    pub own_known: bool,
    /// The crates counted as own, for the hint under `(no own frame)`.
    pub own: String,
}

/// Summarises a goroutine or threadcreate profile (see [`Counted::of`]).
pub fn summarise(profile: &Profile, counted: Counted) -> CountSummary {
    let mut groups: Vec<((String, String), i64)> =
        groups(std::slice::from_ref(profile)).into_iter().collect();
    groups.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    CountSummary {
        counted,
        total: profile.total(0),
        kinds: by_label(std::slice::from_ref(profile), "kind"),
        groups,
        own_known: !profile.own.is_empty(),
        own: profile.own.to_string(),
    }
}

fn group_name((frame, state): &(String, String)) -> String {
    if state.is_empty() {
        frame.clone()
    } else {
        format!("{frame} [{state}]")
    }
}

impl fmt::Display for CountSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.counted.title())?;
        let kinds: Vec<String> = self
            .kinds
            .iter()
            .map(|(kind, n)| format!("{n} {kind}{}", if *n == 1 { "" } else { "s" }))
            .collect();
        if kinds.is_empty() {
            writeln!(f, "{}: {}", self.counted.what(), self.total)?;
        } else {
            writeln!(
                f,
                "{}: {} ({})",
                self.counted.what(),
                self.total,
                kinds.join(", ")
            )?;
        }
        if !self.own_known {
            writeln!(f, "{}", crate::summary::NO_OWN_CRATE)?;
        }
        writeln!(
            f,
            "by innermost own frame{} (exact counts):",
            if self.counted == Counted::Goroutines {
                " and state"
            } else {
                ""
            }
        )?;
        for (group, n) in &self.groups {
            writeln!(f, "  {n:>5}  {}", group_name(group))?;
        }
        if self.own_known
            && self
                .groups
                .iter()
                .any(|((frame, _), _)| frame == NO_OWN_FRAME)
        {
            writeln!(
                f,
                "{NO_OWN_FRAME}: no function of {} on the stack; name more crates with --own",
                self.own
            )?;
        }
        Ok(())
    }
}

/// How two count profiles differ, group by group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountDiff {
    pub counted: Counted,
    pub before: i64,
    pub after: i64,
    /// `(group, before, after)` for every group whose count changed,
    /// the largest growth first.
    pub changed: Vec<((String, String), i64, i64)>,
}

/// Compares the count profiles of `before` with those of `after` (each
/// side's runs added up). The caller has checked they are of one kind.
pub fn diff(before: &[Profile], after: &[Profile]) -> Option<CountDiff> {
    let counted = Counted::of(before.first().or(after.first())?)?;
    let (b, a) = (groups(before), groups(after));
    let mut keys: Vec<&(String, String)> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut changed: Vec<((String, String), i64, i64)> = keys
        .into_iter()
        .map(|k| {
            let get = |m: &BTreeMap<(String, String), i64>| m.get(k).copied().unwrap_or(0);
            (k.clone(), get(&b), get(&a))
        })
        .filter(|(_, b, a)| b != a)
        .collect();
    changed.sort_by(|x, y| (y.2 - y.1).cmp(&(x.2 - x.1)).then_with(|| x.0.cmp(&y.0)));
    let total = |runs: &[Profile]| runs.iter().map(|p| p.total(0)).sum();
    Some(CountDiff {
        counted,
        before: total(before),
        after: total(after),
        changed,
    })
}

impl CountDiff {
    /// The groups that grew, with how much.
    pub fn grown(&self) -> Vec<(String, i64)> {
        self.changed
            .iter()
            .filter(|(_, b, a)| a > b)
            .map(|(g, b, a)| (group_name(g), a - b))
            .collect()
    }
}

impl fmt::Display for CountDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}s compared: {} → {} {} (exact counts, no sampling margin)",
            self.counted.title(),
            self.before,
            self.after,
            self.counted.what()
        )?;
        if self.changed.is_empty() {
            return writeln!(f, "no group changed");
        }
        writeln!(f, "groups that changed (innermost own frame, state):")?;
        for (group, before, after) in &self.changed {
            let way = if after > before { "grew  " } else { "shrank" };
            writeln!(
                f,
                "  {way} {before:>5} → {after:<5} ({:+}) {}",
                after - before,
                group_name(group)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::own::Own;

    fn goroutines(groups: &[(&[&str], &str, i64)]) -> Profile {
        Profile {
            sample_types: vec![("goroutine".into(), "count".into())],
            samples: groups
                .iter()
                .map(|(stack, state, n)| Sample {
                    stack: stack.iter().map(|s| s.to_string()).collect(),
                    values: vec![*n],
                    thread: None,
                    labels: vec![
                        ("state".into(), state.to_string()),
                        ("kind".into(), "thread".into()),
                    ],
                })
                .collect(),
            own: Own::crates(["svc"]),
            duration_ns: 0,
            default_sample_type: None,
        }
    }

    #[test]
    fn a_goroutine_profile_is_counted_by_frame_and_state() {
        let p = goroutines(&[
            (
                &["main", "svc::start", "svc::worker", "recv"],
                "chan receive",
                4,
            ),
            (&["main", "svc::start", "svc::consume"], "sleep", 1),
        ]);
        assert_eq!(Counted::of(&p), Some(Counted::Goroutines));
        let text = summarise(&p, Counted::Goroutines).to_string();
        assert_eq!(
            text,
            "goroutine profile\n\
             threads and tasks: 5 (5 threads)\n\
             by innermost own frame and state (exact counts):\n\
             \x20     4  worker [chan receive]\n\
             \x20     1  consume [sleep]\n"
        );
    }

    /// Go's `-base` on two goroutine profiles: the group that grew is
    /// the leak, by exactly how much.
    #[test]
    fn the_group_that_grew_is_named_with_its_counts() {
        let before = goroutines(&[(&["svc::worker"], "chan receive", 4)]);
        let after = goroutines(&[
            (&["svc::worker"], "chan send", 4),
            (&["svc::load", "send"], "chan send", 2),
        ]);
        let d = diff(std::slice::from_ref(&before), &[after]).unwrap();
        assert_eq!(
            d.grown(),
            [
                ("worker [chan send]".to_string(), 4),
                ("load [chan send]".to_string(), 2)
            ]
        );
        let text = d.to_string();
        assert!(text.starts_with("goroutine profiles compared: 4 → 6 threads and tasks"));
        assert!(
            text.contains("shrank     4 → 0     (-4) worker [chan receive]"),
            "{text}"
        );
        let same = diff(std::slice::from_ref(&before), std::slice::from_ref(&before)).unwrap();
        assert_eq!(same.to_string().lines().nth(1), Some("no group changed"));
    }
}
