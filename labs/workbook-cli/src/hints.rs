//! `cargo workbook hint NNN`: the day's hints, one more on each call.
//!
//! A red self-check asks a question that sends the learner to the
//! evidence (hint 1). Stuck after looking, they ask for the next: the
//! concept behind the pitfall (2), then the fix itself (3). How far a
//! learner has gone is kept per day under `target/workbook-hints/`, so
//! `cargo clean` (or `--reset`) starts over.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use workbook::Day;

/// What each level is, as the output names it.
const LEVELS: [&str; 3] = ["where to look", "the concept", "the fix"];

/// Shows the hints of `id` up to the next level, or from the start after
/// `reset`.
pub fn run(id: &str, reset: bool) -> ExitCode {
    let Some(day) = Day::get(id) else {
        let known: Vec<&str> = workbook::DAYS.iter().map(|d| d.id).collect();
        eprintln!(
            "workbook hint: there is no day {id:?}; the days are {}",
            known.join(", ")
        );
        return ExitCode::from(2);
    };
    let file = state_file(&workbook::root(), id);
    let shown = if reset { 0 } else { read_level(&file) };
    let level = (shown + 1).min(LEVELS.len());
    if let Err(e) = save_level(&file, level) {
        eprintln!("workbook hint: {e}");
        return ExitCode::from(1);
    }
    print!("{}", render(day, level));
    ExitCode::SUCCESS
}

/// The text for hints 1 to `level` of `day`.
pub fn render(day: &Day, level: usize) -> String {
    let mut text = format!("Day {} ({}): hint {level} of 3\n", day.id, day.title);
    for (i, hint) in day.hints.iter().enumerate().take(level) {
        text.push_str(&format!("\n{}. {}:\n   {hint}\n", i + 1, LEVELS[i]));
    }
    text.push('\n');
    if level < LEVELS.len() {
        text.push_str(&format!(
            "Look first; if you are still stuck, `cargo workbook hint {}` shows {}.\n",
            day.id, LEVELS[level]
        ));
    } else {
        text.push_str(&format!(
            "Then `cargo test -p lab-{}`. To hide the hints again: `cargo workbook hint {} --reset`.\n",
            day.id, day.id
        ));
    }
    text
}

fn state_file(root: &Path, id: &str) -> PathBuf {
    root.join("target").join("workbook-hints").join(id)
}

/// The level shown last; 0 when none was, or the file is not ours.
fn read_level(file: &Path) -> usize {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .filter(|n| (1..=LEVELS.len()).contains(n))
        .unwrap_or(0)
}

fn save_level(file: &Path, level: usize) -> Result<(), String> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    labkit::atomic::write_bytes(file, level.to_string().as_bytes())
        .map_err(|e| format!("cannot remember the hint level in {}: {e}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_call_reveals_one_more_level_and_never_more_than_three() {
        let dir = tempfile::tempdir().unwrap();
        let file = state_file(dir.path(), "080");
        assert_eq!(read_level(&file), 0);
        for expected in [1, 2, 3, 3] {
            let level = (read_level(&file) + 1).min(3);
            save_level(&file, level).unwrap();
            assert_eq!(level, expected);
        }
        std::fs::write(&file, "seven").unwrap();
        assert_eq!(read_level(&file), 0, "a stranger file starts over");
    }

    #[test]
    fn a_level_shows_the_hints_up_to_it_and_no_further() {
        let day = Day::get("080").unwrap();
        let one = render(day, 1);
        assert!(
            one.contains(day.hints[0]) && !one.contains(day.hints[1]),
            "{one}"
        );
        assert!(one.contains("shows the concept"), "{one}");
        let three = render(day, 3);
        assert!(day.hints.iter().all(|h| three.contains(h)), "{three}");
        assert!(three.contains("--reset"), "{three}");
    }
}
