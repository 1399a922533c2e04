//! Draws a profile as a flame graph sized for a book page's text column:
//!
//! ```text
//! cargo run -q -p labkit --example book_picture -- PROFILE OUT.svg TITLE [--tagroot KEY] [--full]
//! ```
//!
//! PROFILE is a pprof file (CPU, block or mutex; a contention profile is
//! weighted by its delay), drawn as a flame graph, or a Chrome trace
//! (`trace.json`), drawn as a timeline; TITLE titles a flame graph.
//! `--tagroot KEY` stands each stack on its value of the profiler label KEY
//! instead of its thread (like `go tool pprof -tagroot=KEY`); `--full`
//! draws the browser-tab picture (1200 px, every frame) instead of the
//! column one.
//! `book/images/make.sh` draws the book's pictures with it; try it on your
//! own `lab-out/…/cpu.pb.gz` too.

use std::path::Path;
use std::process::ExitCode;

use labkit::flame::{self, Root, Style};

const USAGE: &str = "PROFILE OUT.svg TITLE [--tagroot KEY] [--full]";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut style = Style::Column;
    let mut tagroot = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--full" => {
                style = Style::Full;
                args.remove(i);
            }
            "--tagroot" => match args.get(i + 1) {
                Some(key) if !key.is_empty() && !key.starts_with("--") => {
                    tagroot = Some(args.remove(i + 1));
                    args.remove(i);
                }
                _ => {
                    eprintln!("book_picture: --tagroot needs a label key, e.g. --tagroot kind");
                    return ExitCode::from(2);
                }
            },
            flag if flag.starts_with("--") => {
                eprintln!("book_picture: unknown option {flag}; expected {USAGE}");
                return ExitCode::from(2);
            }
            _ => i += 1,
        }
    }
    let [profile, out, title] = args.as_slice() else {
        eprintln!(
            "book_picture: expected {USAGE} (got {} arguments besides the options)",
            args.len()
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
