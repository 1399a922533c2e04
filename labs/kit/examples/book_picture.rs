//! Draws a profile as a flame graph sized for a book page's text column:
//!
//! ```text
//! cargo run -q -p labkit --example book_picture -- PROFILE OUT.svg TITLE [--tagroot KEY] [--full]
//! ```
//!
//! PROFILE is a pprof file (CPU, block or mutex; a contention profile is
//! weighted by its delay), drawn as a flame graph, or a Chrome trace
//! (`trace.json`), drawn as a timeline; TITLE titles a flame graph.
//! `--tagroot KEY` (or `--tagroot=KEY`) stands each stack on its value of the profiler label KEY
//! instead of its thread (like `go tool pprof -tagroot=KEY`); `--full`
//! draws the browser-tab picture (1200 px, every frame) instead of the
//! column one.
//! `book/images/make.sh` draws the book's pictures with it; try it on your
//! own `lab-out/…/cpu.pb.gz` too.

use std::path::Path;
use std::process::ExitCode;

use labkit::flame::{self, Root, Style};

const USAGE: &str =
    "PROFILE OUT.svg TITLE [--tagroot KEY] [--full] (`--` before a TITLE that starts with --)";

fn main() -> ExitCode {
    let mut style = Style::Column;
    let mut tagroot: Option<String> = None;
    let mut positional = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let key = match arg.as_str() {
            "--" => {
                positional.extend(args.by_ref());
                break;
            }
            "--full" => {
                style = Style::Full;
                continue;
            }
            "--tagroot" => args.next(),
            _ => match arg.strip_prefix("--tagroot=") {
                Some(key) => Some(key.to_string()),
                None if arg.starts_with("--") => {
                    eprintln!("book_picture: unknown option {arg}; expected {USAGE}");
                    return ExitCode::from(2);
                }
                None => {
                    positional.push(arg);
                    continue;
                }
            },
        };
        match key {
            Some(key) if !key.is_empty() && !key.starts_with("--") => tagroot = Some(key),
            _ => {
                eprintln!("book_picture: --tagroot needs a label key, e.g. --tagroot kind");
                return ExitCode::from(2);
            }
        }
    }
    let [profile, out, title] = positional.as_slice() else {
        eprintln!(
            "book_picture: expected {USAGE} (got {} arguments besides the options)",
            positional.len()
        );
        return ExitCode::from(2);
    };
    let root = tagroot.as_deref().map_or(Root::Thread, Root::Label);
    match draw(Path::new(profile), Path::new(out), title, style, root) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("book_picture: {e}");
            ExitCode::from(2)
        }
    }
}

/// The width of a book page's text column in a 1024 px window.
const COLUMN: f64 = 575.0;

fn draw(profile: &Path, out: &Path, title: &str, style: Style, root: Root) -> Result<(), String> {
    if profile.extension().is_some_and(|e| e == "json") {
        if style != Style::Column || root != Root::Thread {
            return Err(format!(
                "{} is a trace, drawn as a timeline: --tagroot and --full are for pprof profiles",
                profile.display()
            ));
        }
        let trace = labkit::trace::load(profile)?;
        return trace
            .save_timeline_width(out, COLUMN)
            .map_err(|e| e.to_string());
    }
    let profile = labkit::profile::load(profile).map_err(|e| e.to_string())?;
    // Contention profiles hold (contentions, delay): the picture, like the
    // summary, is weighted by the time waited.
    let weight = profile.value_index("delay").unwrap_or(0);
    if let Root::Label(key) = root
        && !profile.samples.iter().any(|s| s.label(key).is_some())
    {
        return Err(format!(
            "no sample carries the label {key:?}: --tagroot takes a label the profile holds \
             (go tool pprof -tags lists them)"
        ));
    }
    flame::save_rooted(&profile, weight, title, style, root, out).map_err(|e| e.to_string())
}
