//! Flame graphs with inferno, from any profile labkit can read.
//!
//! Each stack is rooted at its thread's name, so a concurrent program shows
//! one tower per thread: `worker-0` and `worker-1` side by side; or at the
//! value of a profiler label ([`Root::Label`], `go tool pprof -tagroot`'s
//! twin), one tower per `kind=export`, `kind=summary`. The dozen
//! frames with which the runtime starts every thread (`clone3`,
//! `start_thread`, `std::panicking::catch_unwind`, …) are trimmed from the
//! root end of each stack: they are the same in every tower and push the
//! program's own frames off the top of the picture. The pprof file keeps
//! them; only the picture is trimmed.
//!
//! Two [`Style`]s: [`Style::Full`] is what a run writes beside its profile,
//! to open in a browser tab (1200 px, every frame, zoom and search);
//! [`Style::Column`] is drawn for a book page's text column (575 px): the
//! program's own frames by their short names, and under them the one call
//! that spent the time. `book/images/make.sh` draws the book's pictures
//! with it.

use std::collections::BTreeMap;
use std::path::Path;

use inferno::flamegraph::{self, Options};

use crate::own::Own;
use crate::profile::Profile;
use crate::{Error, atomic};

/// How a flame graph is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// For a browser tab: 1200 px wide, every frame above the thread's
    /// start by its full name, with inferno's zoom and search.
    Full,
    /// For a page's text column, 575 px wide: only the program's own frames
    /// (lab or solution crate), without their crate and without closures,
    /// and under the last of them the one call it made — `labkit::work::burn`,
    /// `std::thread::sleep` — standing for everything beneath it.
    Column,
}

/// What each stack of a flame graph stands on: one tower per value of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root<'a> {
    /// The thread's name (the `thread` label of every sample).
    Thread,
    /// A profiler label's value, as `KEY=VALUE`; `(no KEY label)` for
    /// samples without it. Go's `go tool pprof -tagroot=KEY` adds such a
    /// frame under each stack too, named by the value alone (and empty for
    /// samples without the label).
    Label(&'a str),
}

/// The profile as folded stacks (`thread;root;…;leaf count`), merged and
/// sorted, weighted by sample value `weight`.
pub fn folded(profile: &Profile, weight: usize) -> Vec<String> {
    folded_as(profile, weight, Style::Full)
}

/// [`folded`], with the frames `style` draws.
pub fn folded_as(profile: &Profile, weight: usize, style: Style) -> Vec<String> {
    folded_rooted(profile, weight, style, Root::Thread)
}

/// [`folded_as`], each stack standing on `root`.
pub fn folded_rooted(profile: &Profile, weight: usize, style: Style, root: Root) -> Vec<String> {
    let mut merged: BTreeMap<String, i64> = BTreeMap::new();
    for s in &profile.samples {
        let mut line = match root {
            Root::Thread => s.thread.clone().unwrap_or_else(|| "(no thread)".into()),
            Root::Label(key) => match s.label(key) {
                Some(value) => format!("{key}={value}"),
                None => format!("(no {key} label)"),
            },
        };
        let frames = match style {
            Style::Full => trim_thread_start(&s.stack).to_vec(),
            Style::Column => column_frames(&profile.own, &s.stack),
        };
        for frame in frames {
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
    // `<&dyn core::ops::Fn<…> as core::ops::FnOnce<…>>::call_once` too.
    let bare = frame
        .trim_start_matches('<')
        .trim_start_matches('&')
        .trim_start_matches("dyn ");
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

/// What a frame is to a [`Style::Column`] picture.
enum Frame {
    /// The program's own function, by its name without the crate.
    Own(String),
    /// A closure of the program's own crate: left out.
    OwnClosure,
    /// Anything else: the runtime, std, labkit, a library.
    Other,
}

fn classify(own: &Own, frame: &str) -> Frame {
    match own.name(frame) {
        Some(name) => Frame::Own(name),
        None if own.owns(frame) => Frame::OwnClosure,
        None => Frame::Other,
    }
}

/// The frames a [`Style::Column`] picture draws: from the first own frame
/// on, the own frames by their short names, and after each run of them
/// the one call it made, standing for the frames beneath it. A stack with
/// no own frame (the runtime's, the profiler's) is drawn by its outermost
/// and innermost frames after the thread's start: a sliver of the width
/// that would otherwise stand as tall as the runtime's stacks are deep.
fn column_frames(own: &Own, stack: &[String]) -> Vec<String> {
    let kinds: Vec<Frame> = stack.iter().map(|f| classify(own, f)).collect();
    let Some(first_own) = kinds.iter().position(|k| matches!(k, Frame::Own(_))) else {
        return match trim_thread_start(stack) {
            [outer, .., inner] => vec![outer.clone(), inner.clone()],
            short => short.to_vec(),
        };
    };
    let mut frames = Vec::new();
    let mut below_own = false;
    for (frame, kind) in stack.iter().zip(kinds).skip(first_own) {
        match kind {
            Frame::Own(name) => {
                frames.push(name);
                below_own = true;
            }
            Frame::OwnClosure => {}
            Frame::Other if below_own => {
                frames.push(frame.clone());
                below_own = false;
            }
            Frame::Other => {}
        }
    }
    frames
}

/// Renders `profile` as an SVG flame graph at `path`, atomically, with
/// boxes as wide as sample value `weight`, in [`Style::Full`].
pub fn save(profile: &Profile, weight: usize, title: &str, path: &Path) -> Result<(), Error> {
    save_as(profile, weight, title, Style::Full, path)
}

/// [`save`], drawn in `style`.
pub fn save_as(
    profile: &Profile,
    weight: usize,
    title: &str,
    style: Style,
    path: &Path,
) -> Result<(), Error> {
    save_rooted(profile, weight, title, style, Root::Thread, path)
}

/// Renders `profile` as an SVG flame graph in [`Style::Full`]; `path` only
/// names it in errors.
pub fn render(
    profile: &Profile,
    weight: usize,
    title: &str,
    path: &Path,
) -> Result<Vec<u8>, Error> {
    render_as(profile, weight, title, Style::Full, path)
}

/// [`render`], drawn in `style`.
pub fn render_as(
    profile: &Profile,
    weight: usize,
    title: &str,
    style: Style,
    path: &Path,
) -> Result<Vec<u8>, Error> {
    render_rooted(profile, weight, title, style, Root::Thread, path)
}

/// [`save_as`], each stack standing on `root`: `Root::Label("kind")`
/// draws one tower per kind of work.
pub fn save_rooted(
    profile: &Profile,
    weight: usize,
    title: &str,
    style: Style,
    root: Root,
    path: &Path,
) -> Result<(), Error> {
    atomic::write_bytes(
        path,
        &render_rooted(profile, weight, title, style, root, path)?,
    )
}

/// [`render_as`], each stack standing on `root`.
pub fn render_rooted(
    profile: &Profile,
    weight: usize,
    title: &str,
    style: Style,
    root: Root,
    path: &Path,
) -> Result<Vec<u8>, Error> {
    let lines = folded_rooted(profile, weight, style, root);
    let mut svg = Vec::new();
    if !lines.is_empty() {
        let mut options = Options::default();
        if style == Style::Column {
            // 575 px is the text column of a book page in a 1024 px window;
            // wider windows show it at its size, never scaled down.
            options.image_width = Some(575);
            options.font_size = 13;
            options.frame_height = 20;
        }
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
                    labels: Vec::new(),
                },
                Sample {
                    stack: stack.iter().map(|s| s.to_string()).collect(),
                    values: vec![2],
                    thread: Some("worker-0".into()),
                    labels: Vec::new(),
                },
                Sample {
                    stack: vec!["clone3".into()],
                    values: vec![1],
                    thread: None,
                    labels: Vec::new(),
                },
            ],
            own: Own::crates(["lab_1"]),
            duration_ns: 0,
            default_sample_type: None,
        };
        assert_eq!(
            folded(&profile, 0),
            [
                "(no thread);clone3 1",
                "worker-0;lab_1::worker;std::hint::black_box 5"
            ]
        );
    }

    fn one_sample(stack: &[&str], thread: &str) -> Profile {
        Profile {
            sample_types: vec![("samples".into(), "count".into())],
            samples: vec![Sample {
                stack: stack.iter().map(|s| s.to_string()).collect(),
                values: vec![1],
                thread: Some(thread.into()),
                labels: Vec::new(),
            }],
            own: Own::crates(["solution_083"]),
            duration_ns: 0,
            default_sample_type: None,
        }
    }

    #[test]
    fn the_main_threads_dyn_fn_start_is_trimmed_too() {
        let profile = one_sample(
            &[
                "<&dyn core::ops::function::Fn<(), Output = i32> as \
                 core::ops::function::FnOnce<()>>::call_once",
                "std::rt::lang_start::{{closure}}",
                "solution_083::main",
            ],
            "solution-083",
        );
        assert_eq!(folded(&profile, 0), ["solution-083;solution_083::main 1"]);
    }

    #[test]
    fn a_column_picture_keeps_own_frames_short_and_one_call_beneath() {
        let profile = one_sample(
            &[
                "clone3",
                "std::thread::x",
                "solution_083::run_pipeline::{{closure}}::{{closure}}",
                "solution_083::worker",
                "solution_083::checksum",
                "labkit::work::burn",
                "<u64>::rotate_left",
                "core::intrinsics::rotate_left",
            ],
            "worker-0",
        );
        assert_eq!(
            folded_as(&profile, 0, Style::Column),
            ["worker-0;worker;checksum;labkit::work::burn 1"]
        );
        // A stack with none of the program's frames is drawn by its ends.
        let runtime_only = one_sample(&["clone3", "start_thread"], "worker-1");
        assert_eq!(
            folded_as(&runtime_only, 0, Style::Column),
            ["worker-1;clone3;start_thread 1"]
        );
        let deep = one_sample(
            &[
                "clone3",
                "tokio::runtime::task::raw::poll",
                "tokio::runtime::task::harness::Harness<T,S>::complete",
                "tokio::util::sharded_list::ShardedList<L>::remove",
            ],
            "worker-1",
        );
        assert_eq!(
            folded_as(&deep, 0, Style::Column),
            ["worker-1;tokio::runtime::task::raw::poll;\
                 tokio::util::sharded_list::ShardedList<L>::remove 1"]
        );
    }

    #[test]
    fn a_column_picture_is_column_wide_and_a_full_one_is_not() {
        let profile = one_sample(&["solution_083::worker"], "worker-0");
        let dir = tempfile::tempdir().unwrap();
        let (column, full) = (dir.path().join("column.svg"), dir.path().join("full.svg"));
        save_as(&profile, 0, "t", Style::Column, &column).unwrap();
        save(&profile, 0, "t", &full).unwrap();
        let column = std::fs::read_to_string(column).unwrap();
        let full = std::fs::read_to_string(full).unwrap();
        assert!(column.contains(r#"width="575""#), "{column}");
        assert!(full.contains(r#"width="1200""#), "{full}");
    }

    #[test]
    fn stacks_can_stand_on_a_label_s_values() {
        let mut profile = one_sample(&["solution_095::render"], "solution-095");
        let mut unlabelled = profile.samples[0].clone();
        unlabelled.values = vec![2];
        profile.samples[0].labels = vec![("kind".into(), "export".into())];
        profile.samples.push(unlabelled);
        assert_eq!(
            folded_rooted(&profile, 0, Style::Full, Root::Label("kind")),
            [
                "(no kind label);solution_095::render 2",
                "kind=export;solution_095::render 1"
            ]
        );
    }
}
