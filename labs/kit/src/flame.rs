//! Flame graphs with inferno, from any profile labkit can read.
//!
//! Each stack is rooted at its thread's name, so a concurrent program shows
//! one tower per thread: `worker-0` and `worker-1` side by side. The dozen
//! frames with which the runtime starts every thread (`clone3`,
//! `start_thread`, `std::panicking::catch_unwind`, …) are trimmed from the
//! root end of each stack: they are the same in every tower and push the
//! program's own frames off the top of the picture. The pprof file keeps
//! them; only the picture is trimmed.

use std::collections::BTreeMap;
use std::path::Path;

use inferno::flamegraph::{self, Options};

use crate::profile::Profile;
use crate::{Error, atomic};

/// The profile as folded stacks (`thread;root;…;leaf count`), merged and
/// sorted, weighted by sample value `weight`.
pub fn folded(profile: &Profile, weight: usize) -> Vec<String> {
    let mut merged: BTreeMap<String, i64> = BTreeMap::new();
    for s in &profile.samples {
        let mut line = s.thread.clone().unwrap_or_else(|| "(no thread)".into());
        for frame in trim_thread_start(&s.stack) {
            line.push(';');
            // `;` separates frames in the folded format; names never hold
            // one, but a stray one must not split a frame in two.
            line.push_str(&frame.replace(';', ":"));
        }
        *merged.entry(line).or_default() += s.values[weight];
    }
    merged
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(line, n)| format!("{line} {n}"))
        .collect()
}

/// Frames the runtime puts under a thread's (or `main`'s) own code.
fn is_runtime_start(frame: &str) -> bool {
    let bare = frame.trim_start_matches('<');
    [
        "std::",
        "core::",
        "alloc::",
        "__rust_",
        "_start",
        "__libc_start",
        "start_thread",
        "clone",
    ]
    .iter()
    .any(|p| bare.starts_with(p))
        || frame == "main"
}

/// The stack without its leading runtime frames. A stack made only of
/// runtime frames is kept whole, so its cost still shows somewhere.
fn trim_thread_start(stack: &[String]) -> &[String] {
    match stack.iter().position(|f| !is_runtime_start(f)) {
        Some(first_own) => &stack[first_own..],
        None => stack,
    }
}

/// Renders `profile` as an SVG flame graph at `path`, atomically, with
/// boxes as wide as sample value `weight`.
pub fn save(profile: &Profile, weight: usize, title: &str, path: &Path) -> Result<(), Error> {
    atomic::write_bytes(path, &render(profile, weight, title, path)?)
}

/// Renders `profile` as an SVG flame graph; `path` only names it in errors.
pub fn render(
    profile: &Profile,
    weight: usize,
    title: &str,
    path: &Path,
) -> Result<Vec<u8>, Error> {
    let lines = folded(profile, weight);
    let mut svg = Vec::new();
    if !lines.is_empty() {
        let mut options = Options::default();
        options.title = title.to_string();
        options.count_name = profile
            .sample_types
            .get(weight)
            .map(|(ty, unit)| format!("{ty} ({unit})"))
            .unwrap_or_else(|| "samples".into());
        // Deterministic colours: the same profile gives the same picture.
        options.deterministic = true;
        flamegraph::from_lines(&mut options, lines.iter().map(String::as_str), &mut svg)
            .map_err(|e| Error::new(format!("cannot draw {}: {e}", path.display())))?;
    } else {
        svg.extend_from_slice(EMPTY_SVG.as_bytes());
    }
    Ok(svg)
}

const EMPTY_SVG: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" width="600" height="60"><text x="10" y="35" font-family="sans-serif" font-size="16">This profile holds no samples.</text></svg>
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Sample;

    #[test]
    fn stacks_are_rooted_at_their_thread_and_lose_the_runtime_start() {
        let stack = [
            "clone3",
            "start_thread",
            "std::thread::x",
            "<core::y as z>::call_once",
            "lab_1::worker",
            "std::hint::black_box",
        ];
        let profile = Profile {
            sample_types: vec![("samples".into(), "count".into())],
            samples: vec![
                Sample {
                    stack: stack.iter().map(|s| s.to_string()).collect(),
                    values: vec![3],
                    thread: Some("worker-0".into()),
                },
                Sample {
                    stack: stack.iter().map(|s| s.to_string()).collect(),
                    values: vec![2],
                    thread: Some("worker-0".into()),
                },
                Sample {
                    stack: vec!["clone3".into()],
                    values: vec![1],
                    thread: None,
                },
            ],
        };
        assert_eq!(
            folded(&profile, 0),
            [
                "(no thread);clone3 1",
                "worker-0;lab_1::worker;std::hint::black_box 5"
            ]
        );
    }
}
