//! `cargo run -p labkit -- summary FILE`: the short, stable summary of any
//! profile (pprof CPU, block or mutex; dhat heap; Chrome trace). FILE may
//! be a URL on 127.0.0.1, and `--sample-index` and `--by-thread` are the
//! twins of `go tool pprof`'s `-sample_index` and `-tags` (see `labkit::view`).
//! A goroutine or threadcreate profile is summarised in exact counts by
//! group (see `labkit::counts`).
//! `cargo run -p labkit -- diff BEFORE AFTER`: which functions' share
//! changed beyond the samples' margin; for two goroutine profiles, which
//! groups grew by how many. Both rank the program's own
//! functions: the crate the profile names, or those `--own` names.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use labkit::own::Own;
use labkit::summary::Kind;
use labkit::view::{self, SampleIndex, Source};

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
        /// A pprof profile (gzipped or raw protobuf), e.g. lab-out/083/cpu.pb.gz, or a URL that
        /// serves one, e.g. http://127.0.0.1:8089/debug/pprof/block; or a dhat heap profile
        /// (dhat-heap.json) or a Chrome trace (trace.json)
        file: String,
        /// The floor the summary asks for
        #[arg(long, value_name = "N", default_value_t = 100,
              value_parser = clap::value_parser!(i64).range(1..))]
        min_samples: i64,
        /// For pprof files (default: heap for Go's and jemalloc's heap types, inuse_space and the
        /// rest; for contention profiles, mutex if the file name starts with mutex, else block;
        /// cpu otherwise)
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
        /// Weigh by this sample type, by name or position (like go tool pprof -sample_index),
        /// e.g. contentions to count waits instead of adding up their delay
        #[arg(long, value_name = "TYPE", value_parser = clap::builder::NonEmptyStringValueParser::new())]
        sample_index: Option<String>,
        /// Rank threads (the `thread` label on every sample) instead of functions (like
        /// go tool pprof -tags)
        #[arg(long, conflicts_with = "by_label")]
        by_thread: bool,
        /// Rank the values of this profiler label (labkit::labels, Go's pprof.Do) instead of
        /// functions, e.g. --by-label kind (like go tool pprof -tags, or -tagfocus KEY=VALUE
        /// one value at a time)
        #[arg(long, value_name = "KEY", value_parser = clap::builder::NonEmptyStringValueParser::new())]
        by_label: Option<String>,
        /// The crates whose functions are the program's own (comma-separated or repeated);
        /// by default the program the profile names, e.g. target/debug/order-service is
        /// order_service
        #[arg(long, value_name = "CRATE", value_delimiter = ',',
              value_parser = clap::builder::NonEmptyStringValueParser::new())]
        own: Vec<String>,
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
        /// The crates whose functions are the program's own (comma-separated or repeated);
        /// by default the program the profile names, e.g. target/debug/order-service is
        /// order_service
        #[arg(long, value_name = "CRATE", value_delimiter = ',',
              value_parser = clap::builder::NonEmptyStringValueParser::new())]
        own: Vec<String>,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum KindArg {
    Cpu,
    Block,
    Mutex,
    Heap,
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
    let (file, min_samples, kind, sample_index, by_thread, by_label, own) = match command {
        Command::Summary {
            file,
            min_samples,
            kind,
            sample_index,
            by_thread,
            by_label,
            own,
        } => (
            file,
            min_samples,
            kind,
            sample_index,
            by_thread,
            by_label,
            own,
        ),
        Command::Diff {
            before,
            after,
            flame_graph,
            own,
        } => return diff(&before, &after, flame_graph.as_deref(), &own),
    };
    let own = (!own.is_empty()).then(|| Own::crates(&own));
    let kind = kind.map(|k| match k {
        KindArg::Cpu => Kind::Cpu,
        KindArg::Block => Kind::Block,
        KindArg::Mutex => Kind::Mutex,
        KindArg::Heap => Kind::Heap,
    });
    let source = Source::parse(&file)?;
    let profile = match &source {
        Source::File(path) => {
            if file.ends_with(".json")
                && (sample_index.is_some() || by_thread || by_label.is_some())
            {
                return Err(format!(
                    "--sample-index, --by-thread and --by-label read pprof profiles; {file} is JSON \
                     (a dhat heap profile or a Chrome trace)"
                ));
            }
            // Read once, and never more than labkit's cap, whatever the file is.
            let bytes = labkit::profile::read(path).map_err(|e| e.to_string())?;
            if file.ends_with(".json") {
                // JSON is a dhat heap profile or a Chrome trace; each reader
                // names the file and what it expected when it is neither.
                let dhat = bytes.windows(17).any(|w| w == b"\"dhatFileVersion\"");
                return if dhat {
                    Ok(labkit::heap::parse_with(path, &bytes, own.as_ref())?.to_string())
                } else {
                    Ok(labkit::trace::parse(path, &bytes)?.to_string())
                };
            }
            labkit::profile::decode(path, &bytes).map_err(|e| e.to_string())?
        }
        Source::Url { addr, path } => {
            let bytes = view::fetch(*addr, path)?;
            labkit::profile::decode(&view::error_path(&source), &bytes)
                .map_err(|e| e.to_string())?
        }
    };
    let mut profile = profile;
    if let Some(own) = own {
        profile.own = own;
    }
    // Goroutine and threadcreate profiles count, they do not sample: exact
    // counts by group, with no floor and no margin.
    if let (Some(counted), None, None, false, None) = (
        labkit::counts::Counted::of(&profile),
        kind,
        &sample_index,
        by_thread,
        &by_label,
    ) {
        return Ok(labkit::counts::summarise(&profile, counted).to_string());
    }
    let kind = kind.unwrap_or_else(|| match Kind::of(&profile) {
        Kind::Block if source.last_segment().starts_with("mutex") => Kind::Mutex,
        kind => kind,
    });
    kind.check(&profile).map_err(|e| {
        format!(
            "{} cannot be summarised as a {}: {e}",
            source.name(),
            kind.title()
        )
    })?;
    let index = match &sample_index {
        Some(ty) => SampleIndex(ty.clone()).resolve(&profile, &source.name())?,
        None => view::default_index(&profile, kind),
    };
    if index >= profile.sample_types.len() {
        return Err(format!(
            "{} has {} sample type(s); a {} profile needs {}: pass --kind or --sample-index",
            source.name(),
            profile.sample_types.len(),
            kind.title(),
            index + 1
        ));
    }
    if let Some(key) = &by_label {
        return Ok(view::by_label(&profile, kind, index, min_samples, key).to_string());
    }
    Ok(match (by_thread, sample_index) {
        (true, _) => view::by_thread(&profile, kind, index, min_samples).to_string(),
        (false, Some(_)) => view::by_frame(&profile, kind, index, min_samples).to_string(),
        (false, None) => labkit::summary::summarise(&profile, kind, min_samples).to_string(),
    })
}

/// `labkit diff BEFORE AFTER`: the banded comparison, then its numbers.
fn diff(
    before: &Path,
    after: &Path,
    flame_graph: Option<&Path>,
    own: &[String],
) -> Result<String, String> {
    let (mut b, mut a) = (
        labkit::diff::load_runs(before)?,
        labkit::diff::load_runs(after)?,
    );
    labkit::diff::same_kind(
        &b,
        &a,
        &before.display().to_string(),
        &after.display().to_string(),
    )?;
    if !own.is_empty() {
        for profile in b.iter_mut().chain(a.iter_mut()) {
            profile.own = Own::crates(own);
        }
    }
    if let Some(counts) = labkit::counts::diff(&b, &a) {
        if flame_graph.is_some() {
            return Err(format!(
                "--flame-graph draws sampled profiles; {} and {} count threads, and their \
                 comparison is the text above it: leave --flame-graph out",
                before.display(),
                after.display()
            ));
        }
        return Ok(counts.to_string());
    }
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
        let err = parse(&["summary", "a", "--kind", "goroutine"]).unwrap_err();
        assert!(
            err.contains("--kind") && err.contains("'goroutine'"),
            "{err}"
        );
        let help = Cli::try_parse_from(["labkit", "--help"]).unwrap_err();
        assert_eq!(help.exit_code(), 0);
        let err = run_args(&["summary", "Cargo.toml"]).unwrap_err();
        assert!(err.contains("Cargo.toml is not a pprof profile"), "{err}");
        let err = run_args(&["summary", "../../book/book.json"]).unwrap_err();
        assert!(err.contains("book.json does not exist"), "{err}");
        let err = run_args(&["summary", "no/such/file.pb.gz"]).unwrap_err();
        assert!(err.contains("no/such/file.pb.gz does not exist"), "{err}");
    }

    #[test]
    fn the_go_free_options_refuse_bad_values_by_name() {
        let err = parse(&["summary", "a", "--sample-index", ""]).unwrap_err();
        assert!(err.contains("--sample-index"), "{err}");
        let err = run_args(&["summary", "t.json", "--by-thread"]).unwrap_err();
        assert!(
            err.contains("--by-label read pprof profiles; t.json is JSON"),
            "{err}"
        );
        let err = run_args(&["summary", "t.json", "--by-label", "kind"]).unwrap_err();
        assert!(err.contains("t.json is JSON"), "{err}");
        let err = parse(&["summary", "a", "--by-label", ""]).unwrap_err();
        assert!(err.contains("--by-label"), "{err}");
        let err = parse(&["summary", "a", "--by-label", "k", "--by-thread"]).unwrap_err();
        assert!(err.contains("cannot be used with"), "{err}");
        let err = run_args(&["summary", "http://localhost:8089/debug/pprof/block"]).unwrap_err();
        assert!(err.contains("not a numeric HOST:PORT"), "{err}");
        let err = run_args(&["summary", "Cargo.toml", "--sample-index", "delay"]).unwrap_err();
        assert!(err.contains("Cargo.toml is not a pprof profile"), "{err}");
    }

    /// A goroutine profile was read as a CPU profile ("cpu profile /
    /// samples: too few"), and a diff of two compared shares of "samples".
    #[test]
    fn goroutine_profiles_are_summarised_and_compared_in_counts() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("goroutine.pb.gz");
        let all =
            labkit::goroutine::Goroutines::of_threads(labkit::thread_dump::ANSWER_WITHIN).unwrap();
        std::fs::write(&file, all.to_pprof_gz()).unwrap();
        let path = file.to_str().unwrap();
        let text = run_args(&["summary", path]).unwrap();
        let n = all.all.len();
        assert!(
            text.starts_with(&format!(
                "goroutine profile\nthreads and tasks: {n} ({n} thread"
            )),
            "{text}"
        );
        let same = run_args(&["diff", path, path]).unwrap();
        assert!(same.contains("no group changed"), "{same}");
        let err = run_args(&["diff", path, path, "--flame-graph", "d.svg"]).unwrap_err();
        assert!(err.contains("leave --flame-graph out"), "{err}");
    }
}
