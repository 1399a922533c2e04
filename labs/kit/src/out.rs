//! Where a run writes, and the few lines it says when it is done.
//!
//! Every lab and solution takes one flag, `--out DIR`; without it a run
//! writes to `lab-out/<day>/` under the workspace root (git-ignored). The
//! directory is created if missing.

use std::fmt::Display;
use std::path::{Path, PathBuf};

use crate::Error;

/// The workspace root: `labs/kit/../..`, fixed when labkit is compiled.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("labs/kit sits two levels under the workspace root")
        .to_path_buf()
}

/// The default output directory of a day: `<root>/lab-out/<day>`.
pub fn default_dir(day: &str) -> PathBuf {
    workspace_root().join("lab-out").join(day)
}

/// A whole-number flag a day's program takes besides `--out`, such as
/// `--workers 4`.
#[derive(Debug, Clone, Copy)]
pub struct NumberFlag {
    pub name: &'static str,
    pub default: u64,
    pub min: u64,
    pub max: u64,
    pub help: &'static str,
}

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Run, writing into `out`, with one value per [`NumberFlag`], in order,
    /// and the `--addr` a service listens on (if the program takes one).
    Run {
        out: PathBuf,
        numbers: Vec<u64>,
        addr: Option<std::net::SocketAddr>,
    },
    Help(String),
}

/// Parses `--out DIR` (or `--out=DIR`), `--help`, and the day's number
/// flags; anything else is an error that names the argument and lists the
/// valid ones.
pub fn parse_args<I>(
    program: &str,
    day: &str,
    flags: &[NumberFlag],
    args: I,
) -> Result<Invocation, Error>
where
    I: IntoIterator<Item = String>,
{
    parse_args_with_addr(program, day, flags, None, args)
}

/// Like [`parse_args`], for a service that also takes `--addr HOST:PORT`
/// (default `default_addr`).
pub fn parse_args_with_addr<I>(
    program: &str,
    day: &str,
    flags: &[NumberFlag],
    default_addr: Option<&str>,
    args: I,
) -> Result<Invocation, Error>
where
    I: IntoIterator<Item = String>,
{
    let mut usage = format!("usage: {program} [--out DIR]");
    if default_addr.is_some() {
        usage.push_str(" [--addr HOST:PORT]");
    }
    for f in flags {
        usage.push_str(&format!(" [{} N]", f.name));
    }
    usage.push_str(&format!(
        "\n\n  --out DIR   where to write the profiles (default: {}; created if missing)",
        display(&default_dir(day))
    ));
    for f in flags {
        usage.push_str(&format!(
            "\n  {} N  {} (default {}; {}–{})",
            f.name, f.help, f.default, f.min, f.max
        ));
    }
    if let Some(addr) = default_addr {
        usage.push_str(&format!(
            "\n  --addr HOST:PORT  where the service listens (default {addr}; port 0: any free port)"
        ));
    }
    usage.push_str("\n  --help      print this help");
    let valid = std::iter::once("--out DIR".to_string())
        .chain(default_addr.map(|_| "--addr HOST:PORT".to_string()))
        .chain(flags.iter().map(|f| format!("{} N", f.name)))
        .chain(std::iter::once("--help".to_string()))
        .collect::<Vec<_>>()
        .join(", ");

    let mut out = None;
    let parse_addr = |text: &str| {
        text.parse::<std::net::SocketAddr>().map_err(|_| {
            Error::new(format!(
                "--addr {text:?}: expected HOST:PORT with a numeric host, such as 127.0.0.1:8089"
            ))
        })
    };
    let mut addr = default_addr.map(parse_addr).transpose()?;
    let mut numbers: Vec<u64> = flags.iter().map(|f| f.default).collect();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(Invocation::Help(usage));
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| Error::new(format!("{name} needs {what} after it\n\n{usage}")))
        };
        if name == "--out" {
            let dir = value("a directory")?;
            if dir.is_empty() {
                return Err(Error::new(format!(
                    "--out needs a non-empty directory\n\n{usage}"
                )));
            }
            out = Some(PathBuf::from(dir));
        } else if name == "--addr" && default_addr.is_some() {
            addr = Some(parse_addr(&value("an address")?)?);
        } else if let Some(i) = flags.iter().position(|f| f.name == name) {
            let f = flags[i];
            let text = value("a number")?;
            numbers[i] = text
                .parse::<u64>()
                .ok()
                .filter(|n| (f.min..=f.max).contains(n))
                .ok_or_else(|| {
                    Error::new(format!(
                        "{} {text:?}: expected a whole number from {} to {}",
                        f.name, f.min, f.max
                    ))
                })?;
        } else {
            return Err(Error::new(format!(
                "unknown argument {arg:?}: the flags are {valid}\n\n{usage}"
            )));
        }
    }
    Ok(Invocation::Run {
        out: out.unwrap_or_else(|| default_dir(day)),
        numbers,
        addr,
    })
}

/// Makes sure `dir` is a directory this process can write into, creating it
/// if missing.
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
    let probe = dir.join(format!(".labkit-probe-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| {
            Error::io(
                format!("--out {}: this directory is not writable", dir.display()),
                e,
            )
        })
}

/// The output directory for a lab's `main`: parses the process's arguments,
/// prepares the directory and returns it. `--help` prints the usage and
/// exits 0; a bad argument or directory prints why and exits 2, before any
/// work is done.
pub fn dir_from_args(day: &str) -> PathBuf {
    args_with_numbers(day, &[]).0
}

/// Like [`dir_from_args`], for a program that also takes number flags:
/// returns the directory and one value per flag, in order.
pub fn args_with_numbers(day: &str, flags: &[NumberFlag]) -> (PathBuf, Vec<u64>) {
    let (out, numbers, _) = parse_process_args(day, flags, None);
    (out, numbers)
}

/// Like [`args_with_numbers`], for a service: also returns `--addr`
/// (default `default_addr`, which should be on 127.0.0.1).
pub fn args_with_addr(
    day: &str,
    flags: &[NumberFlag],
    default_addr: &str,
) -> (PathBuf, Vec<u64>, std::net::SocketAddr) {
    let (out, numbers, addr) = parse_process_args(day, flags, Some(default_addr));
    (out, numbers, addr.expect("a default address was given"))
}

fn parse_process_args(
    day: &str,
    flags: &[NumberFlag],
    default_addr: Option<&str>,
) -> (PathBuf, Vec<u64>, Option<std::net::SocketAddr>) {
    let mut args = std::env::args_os().map(|a| a.to_string_lossy().into_owned());
    let program = args.next().unwrap_or_else(|| format!("lab-{day}"));
    let program = Path::new(&program)
        .file_name()
        .map_or(program.clone(), |n| n.to_string_lossy().into_owned());
    let result =
        parse_args_with_addr(&program, day, flags, default_addr, args).and_then(|inv| match inv {
            Invocation::Run { out, numbers, addr } => {
                prepare_dir(&out).map(|()| Some((out, numbers, addr)))
            }
            Invocation::Help(usage) => {
                println!("{usage}");
                Ok(None)
            }
        });
    match result {
        Ok(Some(run)) => run,
        Ok(None) => std::process::exit(0),
        Err(e) => {
            eprintln!("{program}: {e}");
            std::process::exit(2);
        }
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

/// Prints the closing lines: a label column, then the text; continuation
/// lines of a text are indented under it.
pub fn closing(lines: &[(&str, &dyn Display)]) {
    print!("{}", closing_text(lines));
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

    const WORKERS: NumberFlag = NumberFlag {
        name: "--workers",
        default: 4,
        min: 1,
        max: 64,
        help: "worker threads",
    };

    fn parse(args: &[&str]) -> Result<Invocation, Error> {
        parse_args("lab-083", "083", &[], args.iter().map(|s| s.to_string()))
    }

    fn parse_with_workers(args: &[&str]) -> Result<Invocation, Error> {
        parse_args(
            "lab-085",
            "085",
            &[WORKERS],
            args.iter().map(|s| s.to_string()),
        )
    }

    #[test]
    fn number_flags_take_defaults_values_and_refuse_the_absurd() {
        let numbers = |r: Result<Invocation, Error>| match r.unwrap() {
            Invocation::Run { numbers, .. } => numbers,
            Invocation::Help(_) => panic!("expected a run"),
        };
        assert_eq!(numbers(parse_with_workers(&[])), [4]);
        assert_eq!(numbers(parse_with_workers(&["--workers", "8"])), [8]);
        assert_eq!(numbers(parse_with_workers(&["--workers=2"])), [2]);
        for bad in ["0", "-3", "65", "many", ""] {
            let err = parse_with_workers(&["--workers", bad])
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("expected a whole number from 1 to 64"),
                "{bad}: {err}"
            );
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
        let err = parse_with_workers(&["--items", "3"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--out DIR, --workers N, --help"), "{err}");
    }

    #[test]
    fn a_service_takes_an_address_and_refuses_a_name() {
        let parse = |a: &[&str]| {
            parse_args_with_addr(
                "s",
                "089",
                &[],
                Some("127.0.0.1:8089"),
                a.iter().map(|s| s.to_string()),
            )
        };
        let addr = |r: Result<Invocation, Error>| match r.unwrap() {
            Invocation::Run { addr, .. } => addr.unwrap().to_string(),
            Invocation::Help(_) => panic!("expected a run"),
        };
        assert_eq!(addr(parse(&[])), "127.0.0.1:8089");
        assert_eq!(addr(parse(&["--addr", "127.0.0.1:0"])), "127.0.0.1:0");
        let err = parse(&["--addr", "localhost:80"]).unwrap_err().to_string();
        assert!(
            err.contains("\"localhost:80\"") && err.contains("numeric host"),
            "{err}"
        );
    }

    #[test]
    fn the_default_is_lab_out_under_the_workspace_root() {
        let Invocation::Run { out, .. } = parse(&[]).unwrap() else {
            panic!("expected a run");
        };
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
    fn out_is_taken_in_both_spellings() {
        for args in [&["--out", "x/y"][..], &["--out=x/y"][..]] {
            assert_eq!(
                parse(args).unwrap(),
                Invocation::Run {
                    out: "x/y".into(),
                    numbers: vec![],
                    addr: None
                }
            );
        }
    }

    #[test]
    fn bad_arguments_name_themselves_and_the_valid_flags() {
        let err = parse(&["--ot", "x"]).unwrap_err().to_string();
        assert!(
            err.contains("\"--ot\"") && err.contains("--out DIR"),
            "{err}"
        );
        let err = parse(&["--out"]).unwrap_err().to_string();
        assert!(err.contains("--out needs a directory"), "{err}");
        let err = parse(&["--out="]).unwrap_err().to_string();
        assert!(err.contains("non-empty"), "{err}");
        assert!(matches!(parse(&["--help"]), Ok(Invocation::Help(_))));
    }

    #[test]
    fn a_file_or_an_uncreatable_directory_is_refused() {
        let file = std::env::temp_dir().join(format!("labkit-out-file-{}", std::process::id()));
        std::fs::write(&file, b"").unwrap();
        let err = prepare_dir(&file).unwrap_err().to_string();
        assert!(err.contains("is a file, not a directory"), "{err}");
        std::fs::remove_file(&file).unwrap();
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
