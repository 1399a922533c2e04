//! A day's command line: `--out DIR` (default `lab-out/<id>/`), the day's
//! own flags by name (`--workers 4`), and `--help`.
//!
//! clap prints `--help` on stdout and exits 0; a bad flag exits 2 with a
//! message that names it, before any work is done.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, FromArgMatches, Parser};
use labkit::cli::Output;

use crate::Day;

#[derive(Parser, Debug)]
struct Cli<F: Args> {
    #[command(flatten)]
    output: Output,
    #[command(flatten)]
    flags: F,
}

/// The flags of a day whose programs take none but `--out`.
#[derive(Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct NoFlags {}

impl Day {
    /// The output directory for a lab's `main`: parses the process's
    /// arguments, prepares the directory and returns it.
    pub fn out_dir(&self) -> PathBuf {
        self.args::<NoFlags>().0
    }

    /// Like [`Day::out_dir`], for a program with flags of its own (`F`,
    /// from the day's module): returns the directory and the flags.
    pub fn args<F: Args + FromArgMatches>(&self) -> (PathBuf, F) {
        let mut args = std::env::args_os();
        let program = args
            .next()
            .map(PathBuf::from)
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| self.lab());
        let mut command = self.command::<F>(&program);
        let parsed = self
            .parse_from::<F>(&program, args)
            .unwrap_or_else(|e| e.exit());
        if let Err(e) = labkit::out::prepare_dir(&parsed.0) {
            command.error(ErrorKind::ValueValidation, e).exit();
        }
        // The emulation settings, read now: a bad one is refused before any
        // work starts, not by whichever thread burns first.
        if let Err(e) = labkit::work::check_emulation_settings() {
            command.error(ErrorKind::ValueValidation, e).exit();
        }
        crate::service::stop_with_stdin_if_asked();
        parsed
    }

    /// Parses `args` (without the program's name) for `program`: the
    /// directory and the day's flags, or clap's error (which names the
    /// flag). `--help` is an error of kind `DisplayHelp`.
    pub fn parse_from<F: Args + FromArgMatches>(
        &self,
        program: &str,
        args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    ) -> Result<(PathBuf, F), clap::Error> {
        let mut command = self.command::<F>(program);
        let matches = command.try_get_matches_from_mut(
            std::iter::once(OsString::from(program)).chain(args.into_iter().map(Into::into)),
        )?;
        let cli = Cli::<F>::from_arg_matches(&matches).map_err(|e| e.format(&mut command))?;
        let out = cli.output.out.unwrap_or_else(|| self.default_out());
        Ok((out, cli.flags))
    }

    fn command<F: Args>(&self, program: &str) -> clap::Command {
        let default = labkit::out::display(&self.default_out());
        Cli::<F>::command()
            .name(program.to_string())
            .bin_name(program.to_string())
            .about(format!("Day {}: {}", self.id, self.title))
            .mut_arg("out", |a| {
                a.help(format!(
                    "Where to write the profiles (default: {default}; created if missing)"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::days::{day085, day089};

    fn day(id: &str) -> &'static Day {
        Day::get(id).unwrap()
    }

    #[test]
    fn number_flags_take_defaults_values_and_refuse_the_absurd() {
        let parse = |a: &[&str]| day("085").parse_from::<day085::Flags>("lab-085", a);
        let flags = |a: &[&str]| parse(a).unwrap().1;
        assert_eq!((flags(&[]).workers, flags(&[]).items), (4, 400));
        assert_eq!(flags(&["--workers", "8"]).workers, 8);
        assert_eq!(flags(&["--workers=2"]).workers, 2);
        for bad in ["0", "-3", "257", "many", ""] {
            let err = parse(&["--workers", bad]).unwrap_err();
            assert_eq!(err.exit_code(), 2);
            let text = err.to_string();
            assert!(text.contains("--workers"), "{bad}: {text}");
        }
        let err = parse(&["--wokers", "3"]).unwrap_err().to_string();
        assert!(
            err.contains("--wokers") && err.contains("--workers"),
            "{err}"
        );
    }

    #[test]
    fn a_service_takes_an_address_and_refuses_a_name() {
        let parse = |a: &[&str]| day("089").parse_from::<day089::Flags>("lab-089", a);
        assert_eq!(parse(&[]).unwrap().1.addr().to_string(), "127.0.0.1:8089");
        let flags = parse(&["--addr", "127.0.0.1:0"]).unwrap().1;
        assert_eq!(flags.addr().to_string(), "127.0.0.1:0");
        let err = parse(&["--addr", "localhost:80"]).unwrap_err().to_string();
        assert!(
            err.contains("localhost:80") && err.contains("--addr"),
            "{err}"
        );
    }

    #[test]
    fn the_default_is_lab_out_under_the_workspace_root() {
        let (out, NoFlags {}) = day("083").parse_from("lab-083", [""; 0]).unwrap();
        assert!(out.ends_with("lab-out/083"), "{}", out.display());
        assert!(
            out.parent()
                .unwrap()
                .parent()
                .unwrap()
                .join("Cargo.toml")
                .exists()
        );
    }

    #[test]
    fn out_is_taken_in_both_spellings_and_help_is_not_an_error() {
        for args in [&["--out", "x/y"][..], &["--out=x/y"][..]] {
            let (out, NoFlags {}) = day("083").parse_from("lab-083", args).unwrap();
            assert_eq!(out, PathBuf::from("x/y"));
        }
        let err = day("083")
            .parse_from::<NoFlags>("lab-083", ["--out="])
            .unwrap_err();
        assert!(err.to_string().contains("--out"), "{err}");
        let err = day("083")
            .parse_from::<NoFlags>("lab-083", ["--ot", "x"])
            .unwrap_err();
        assert!(err.to_string().contains("--ot"), "{err}");
        let help = day("083")
            .parse_from::<NoFlags>("lab-083", ["--help"])
            .unwrap_err();
        assert_eq!(help.kind(), ErrorKind::DisplayHelp);
        assert_eq!(help.exit_code(), 0);
        assert!(help.to_string().contains("lab-out/083"), "{help}");
    }
}
