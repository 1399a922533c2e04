//! `cargo run -p labkit -- summary FILE`: the workbook's summary of any
//! pprof CPU profile, the same text the pages show.

use std::path::Path;
use std::process::ExitCode;

use labkit::summary::Kind;

const USAGE: &str = "usage: labkit summary FILE [--min-samples N] [--kind cpu|block|mutex]\n\n  FILE               a pprof profile (gzipped or raw protobuf), e.g. lab-out/083/cpu.pb.gz;\n                     or a dhat heap profile (dhat-heap.json) or a Chrome trace (trace.json)\n  --min-samples N    the floor the summary asks for (default 100)\n  --kind K           cpu, block or mutex, for pprof files (default: cpu for sampled profiles;\n                     for contention profiles, mutex if the file name starts with mutex, else block)";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
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

fn run(args: Vec<String>) -> Result<String, String> {
    let mut args = args.into_iter();
    match args.next().as_deref() {
        Some("summary") => {}
        Some("-h" | "--help") => return Ok(format!("{USAGE}\n")),
        Some(other) => {
            return Err(format!(
                "unknown command {other:?}: the only command is summary\n\n{USAGE}"
            ));
        }
        None => return Err(format!("a command is needed\n\n{USAGE}")),
    }
    let mut file = None;
    let mut min_samples = 100;
    let mut kind = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--min-samples" => {
                let value = args
                    .next()
                    .ok_or_else(|| format!("--min-samples needs a number\n\n{USAGE}"))?;
                min_samples = value
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| {
                        format!("--min-samples {value:?}: expected a whole number ≥ 1")
                    })?;
            }
            "--kind" => {
                let value = args
                    .next()
                    .ok_or_else(|| format!("--kind needs cpu, block or mutex\n\n{USAGE}"))?;
                kind = Some(match value.as_str() {
                    "cpu" => Kind::Cpu,
                    "block" => Kind::Block,
                    "mutex" => Kind::Mutex,
                    other => return Err(format!("--kind {other:?}: expected cpu, block or mutex")),
                });
            }
            flag if flag.starts_with('-') => {
                return Err(format!("unknown flag {flag:?}\n\n{USAGE}"));
            }
            path if file.is_none() => file = Some(path.to_string()),
            extra => {
                return Err(format!(
                    "unexpected argument {extra:?}: give one FILE\n\n{USAGE}"
                ));
            }
        }
    }
    let file = file.ok_or_else(|| format!("summary needs a FILE\n\n{USAGE}"))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn bad_input_is_named() {
        assert!(run(args(&[])).unwrap_err().contains("a command is needed"));
        assert!(run(args(&["sumary"])).unwrap_err().contains("\"sumary\""));
        assert!(
            run(args(&["summary"]))
                .unwrap_err()
                .contains("needs a FILE")
        );
        assert!(
            run(args(&["summary", "a", "--min-samples", "0"]))
                .unwrap_err()
                .contains("≥ 1")
        );
        assert!(
            run(args(&["summary", "--nope"]))
                .unwrap_err()
                .contains("\"--nope\"")
        );
        let err = run(args(&["summary", "Cargo.toml"])).unwrap_err();
        assert!(err.contains("Cargo.toml is not a pprof profile"), "{err}");
        let err = run(args(&["summary", "../../book/book.json"])).unwrap_err();
        assert!(err.contains("book.json cannot be read"), "{err}");
        let err = run(args(&["summary", "no/such/file.pb.gz"])).unwrap_err();
        assert!(err.contains("no/such/file.pb.gz does not exist"), "{err}");
    }
}
