//! Where a run writes, and the few lines it says when it is done.
//!
//! A program chooses its output directory (`--out DIR`, see [`crate::cli`]);
//! [`prepare_dir`] makes sure it can write there before any work is done,
//! so a typo costs a second, not a whole profiled run.

use std::fmt::Display;
use std::path::Path;

use crate::Error;

/// Makes sure `dir` is a directory this process can write into, creating it
/// if missing, and removes the temporary files an earlier run left there
/// when it was killed mid-write ([`crate::atomic::remove_stale`]).
pub fn prepare_dir(dir: &Path) -> Result<(), Error> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::new(format!(
            "--out {}: this is a file, not a directory (give a directory; it is created if missing)",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::io(
            format!("--out {}: cannot create this directory", dir.display()),
            e,
        )
    })?;
    // A file with no name (or a fresh random one), created exclusively:
    // nothing planted in the directory can redirect the probe.
    tempfile::tempfile_in(dir).map_err(|e| {
        Error::io(
            format!("--out {}: this directory is not writable", dir.display()),
            e,
        )
    })?;
    crate::atomic::remove_stale(dir);
    Ok(())
}

/// For the scopes that save a file when they are dropped: a destructor
/// cannot return an error, yet a run that lost its profile must not look
/// like a success. So say why, and end the process with exit code 1 — unless
/// the thread is already panicking, which fails the run anyway.
pub(crate) fn scope_failed(what: &str, e: &Error) {
    eprintln!("labkit: {what} was not saved: {e}");
    if !std::thread::panicking() {
        std::process::exit(1);
    }
}

/// A path as the learner would type it: relative to the current directory
/// when it is under it.
pub fn display(path: &Path) -> String {
    let rel = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf));
    rel.unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

/// Ends the process on a bad setting in the environment (an emulation
/// knob the tests set): says which and what would be valid, exit code 2.
pub fn bad_setting(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}

/// Prints the closing lines: a label column, then the text; continuation
/// lines of a text are indented under it. Written as [`say`] writes.
pub fn closing(lines: &[(&str, &dyn Display)]) {
    write_out(&closing_text(lines));
}

/// `println!`, for what a program tells whoever reads its stdout: a stdout
/// nobody reads any more (`| head -1`, a parent that went away) is not an
/// error of the run, where `println!` would panic with "failed printing to
/// stdout" and end the program (a service at its second line, a finished
/// run with exit code 101).
pub fn say(line: std::fmt::Arguments) {
    write_out(&format!("{line}\n"));
}

fn write_out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

fn closing_text(lines: &[(&str, &dyn Display)]) -> String {
    let width = lines
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for (label, body) in lines {
        for (i, line) in body.to_string().lines().enumerate() {
            let label = if i == 0 { *label } else { "" };
            let row = format!("{label:<width$}  {line}");
            text.push_str(row.trim_end());
            text.push('\n');
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_or_an_uncreatable_directory_is_refused() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let err = prepare_dir(file.path()).unwrap_err().to_string();
        assert!(err.contains("is a file, not a directory"), "{err}");
        // Even root cannot make directories inside /proc.
        let err = prepare_dir(Path::new("/proc/labkit-cannot-exist"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/proc/labkit-cannot-exist") && err.contains("cannot create"),
            "{err}"
        );
    }

    #[test]
    fn closing_lines_align_and_indent_continuations() {
        let text = closing_text(&[("wrote", &"a.pb.gz"), ("next", &"one\ntwo")]);
        assert_eq!(text, "wrote  a.pb.gz\nnext   one\n       two\n");
    }
}
