//! Draws a profile as a flame graph sized for a book page's text column:
//!
//! ```text
//! cargo run -q -p labkit --example book_picture -- PROFILE OUT.svg TITLE
//! ```
//!
//! PROFILE is a pprof file (CPU, block or mutex; a contention profile is
//! weighted by its delay), drawn as a flame graph, or a Chrome trace
//! (`trace.json`), drawn as a timeline; TITLE titles a flame graph.
//! `book/images/make.sh` draws the book's pictures with it; try it on your
//! own `lab-out/…/cpu.pb.gz` too.

use std::path::Path;
use std::process::ExitCode;

use labkit::flame::{self, Style};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [profile, out, title] = args.as_slice() else {
        eprintln!(
            "book_picture: expected 3 arguments, PROFILE OUT.svg TITLE (got {})",
            args.len()
        );
        return ExitCode::from(2);
    };
    match draw(Path::new(profile), Path::new(out), title) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("book_picture: {e}");
            ExitCode::from(2)
        }
    }
}

/// The width of a book page's text column in a 1024 px window.
const COLUMN: f64 = 575.0;

fn draw(profile: &Path, out: &Path, title: &str) -> Result<(), String> {
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
    flame::save_as(&profile, weight, title, Style::Column, out).map_err(|e| e.to_string())
}
