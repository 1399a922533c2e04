//! `cargo run -p labkit -- summary FILE`: the short, stable summary of any
//! profile (pprof CPU, block or mutex; dhat heap; Chrome trace).
//! `cargo run -p labkit -- diff BEFORE AFTER`: which functions' share
//! changed beyond the samples' margin.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use labkit::summary::Kind;

#[derive(Parser, Debug)]
#[command(
    name = "labkit",
    about = "Reads profiles the way the workbook's pages show them"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Prints the summary of a profile: the same short text the pages show
    Summary {
        /// A pprof profile (gzipped or raw protobuf), e.g. lab-out/083/cpu.pb.gz; or a dhat heap
        /// profile (dhat-heap.json) or a Chrome trace (trace.json)
        file: PathBuf,
        /// The floor the summary asks for
        #[arg(long, value_name = "N", default_value_t = 100,
              value_parser = clap::value_parser!(i64).range(1..))]
        min_samples: i64,
        /// For pprof files (default: cpu for sampled profiles; for contention profiles, mutex if
        /// the file name starts with mutex, else block)
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
    },
    /// Compares two profiles by share of their samples: the functions whose
    /// share changed beyond the samples' margin, in bands
    Diff {
        /// The profile before the change: a pprof file, or a directory whose .pb.gz files are
        /// runs of the same program (pooled)
        before: PathBuf,
        /// The profile after the change, in the same form
        after: PathBuf,
        /// Also draw a differential flame graph (SVG) here: red grew, blue shrank
        #[arg(long, value_name = "SVG")]
        flame_graph: Option<PathBuf>,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum KindArg {
    Cpu,
    Block,
    Mutex,
}

fn main() -> ExitCode {
    // clap prints --help on stdout and exits 0; a bad argument exits 2 and
    // names it.
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("labkit: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(command: Command) -> Result<String, String> {
    let (file, min_samples, kind) = match command {
        Command::Summary {
            file,
            min_samples,
            kind,
        } => (file, min_samples, kind),
        Command::Diff {
            before,
            after,
            flame_graph,
        } => return diff(&before, &after, flame_graph.as_deref()),
    };
    let kind = kind.map(|k| match k {
        KindArg::Cpu => Kind::Cpu,
        KindArg::Block => Kind::Block,
        KindArg::Mutex => Kind::Mutex,
    });
    let file = file.to_string_lossy().into_owned();
    let path = Path::new(&file);
    if file.ends_with(".json") {
        // JSON is a dhat heap profile or a Chrome trace; each loader names
        // the file and what it expected when it is neither.
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("{file} cannot be read: {e}"))?;
        return if text.contains("\"dhatFileVersion\"") {
            Ok(labkit::heap::load(path)?.to_string())
        } else {
            Ok(labkit::trace::load(path)?.to_string())
        };
    }
    let profile = labkit::profile::load(path).map_err(|e| e.to_string())?;
    let kind = kind.unwrap_or_else(|| {
        let contention = profile
            .sample_types
            .first()
            .is_some_and(|(ty, _)| ty == "contentions");
        let mutex = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("mutex"));
        match (contention, mutex) {
            (false, _) => Kind::Cpu,
            (true, true) => Kind::Mutex,
            (true, false) => Kind::Block,
        }
    });
    Ok(labkit::summary::summarise(&profile, kind, min_samples).to_string())
}

/// `labkit diff BEFORE AFTER`: the banded comparison, then its numbers.
fn diff(before: &Path, after: &Path, flame_graph: Option<&Path>) -> Result<String, String> {
    let (b, a) = (
        labkit::diff::load_runs(before)?,
        labkit::diff::load_runs(after)?,
    );
    let diff = labkit::diff::diff(&b, &a);
    if let Some(svg) = flame_graph {
        let title = format!("{} → {}", before.display(), after.display());
        labkit::diff::save_flame_graph(&b, &a, &title, svg).map_err(|e| e.to_string())?;
    }
    Ok(format!("{diff}\n{}", diff.numbers()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(a: &[&str]) -> Result<Command, String> {
        Cli::try_parse_from(std::iter::once("labkit").chain(a.iter().copied()))
            .map(|cli| cli.command)
            .map_err(|e| e.to_string())
    }

    fn run_args(a: &[&str]) -> Result<String, String> {
        run(parse(a)?)
    }

    #[test]
    fn bad_input_is_named() {
        assert!(parse(&[]).unwrap_err().contains("summary"));
        assert!(parse(&["sumary"]).unwrap_err().contains("'sumary'"));
        assert!(parse(&["summary"]).unwrap_err().contains("<FILE>"));
        let err = parse(&["summary", "a", "--min-samples", "0"]).unwrap_err();
        assert!(
            err.contains("--min-samples") && err.contains("'0'"),
            "{err}"
        );
        assert!(
            parse(&["summary", "a", "--nope"])
                .unwrap_err()
                .contains("'--nope'")
        );
        let err = parse(&["summary", "a", "--kind", "heap"]).unwrap_err();
        assert!(err.contains("--kind") && err.contains("'heap'"), "{err}");
        let help = Cli::try_parse_from(["labkit", "--help"]).unwrap_err();
        assert_eq!(help.exit_code(), 0);
        let err = run_args(&["summary", "Cargo.toml"]).unwrap_err();
        assert!(err.contains("Cargo.toml is not a pprof profile"), "{err}");
        let err = run_args(&["summary", "../../book/book.json"]).unwrap_err();
        assert!(err.contains("book.json cannot be read"), "{err}");
        let err = run_args(&["summary", "no/such/file.pb.gz"]).unwrap_err();
        assert!(err.contains("no/such/file.pb.gz does not exist"), "{err}");
    }
}
