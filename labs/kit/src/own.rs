//! Which frames are the profiled program's **own**: the functions of the
//! crates it was built from, as opposed to std, the async runtime, labkit
//! or any library. Summaries rank own frames, flame-graph columns draw
//! them by their short names, diffs compare them across two programs.
//!
//! The caller can say which crates are own ([`Own::crates`], `labkit
//! summary --own CRATE`). Without that, a profile names its program: the
//! executable in a pprof file's first mapping, dhat's `cmd`, a task dump's
//! `# program:` line. Cargo names a binary after its package, so
//! `target/debug/order-service` is crate `order_service`; a test binary
//! `deps/order_service-1a2b3c4d5e6f7a8b` is too. When no program is named
//! (a file another tool wrote), the crates that have a `main` function
//! are taken: a Rust program's own crate is where `main` lives.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

/// The crates whose functions count as the program's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Own {
    crates: BTreeSet<String>,
}

impl Own {
    /// Exactly these crates, by their names in symbols (`my_service`,
    /// underscores). A name written with dashes, as a package is, is
    /// taken as its crate name.
    pub fn crates<I, S>(names: I) -> Own
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Own {
            crates: names
                .into_iter()
                .map(|n| n.as_ref().replace('-', "_"))
                .filter(|n| !n.is_empty())
                .collect(),
        }
    }

    /// The crate of the executable at `program` (a path, or a command line
    /// whose first word is one), if its file name can be a crate's.
    pub fn of_program(program: &str) -> Option<Own> {
        let exe = program.split_whitespace().next()?;
        let stem = Path::new(exe).file_stem()?.to_str()?;
        // A test or build-script binary carries cargo's 16-hex-digit hash.
        let stem = match stem.rsplit_once('-') {
            Some((name, hash))
                if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                name
            }
            _ => stem,
        };
        let krate = stem.replace('-', "_");
        let valid = krate
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && krate.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        valid.then(|| Own::crates([krate]))
    }

    /// The crates among `frames` that have a `main` function (see the
    /// module's notes).
    pub fn with_main<'a>(frames: impl IntoIterator<Item = &'a str>) -> Own {
        Own {
            crates: frames
                .into_iter()
                .filter_map(|f| f.strip_suffix("::main"))
                .filter(|k| !k.is_empty() && !k.contains(['<', ' ', ':']))
                .map(str::to_string)
                .collect(),
        }
    }

    /// The program's crate if `program` names one, else the crates with a
    /// `main` among `frames`.
    pub fn of<'a>(program: Option<&str>, frames: impl IntoIterator<Item = &'a str>) -> Own {
        program
            .and_then(Own::of_program)
            .unwrap_or_else(|| Own::with_main(frames))
    }

    /// Both sets: what either of two programs calls its own (a lab and its
    /// solution, compared).
    pub fn union(&self, other: &Own) -> Own {
        Own {
            crates: self.crates.union(&other.crates).cloned().collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.crates.is_empty()
    }

    /// Whether the frame is a function of an own crate, closures included
    /// (`<my_service::Job as Debug>::fmt` is).
    pub fn owns(&self, frame: &str) -> bool {
        self.split(frame).is_some()
    }

    /// The frame's name without its crate, if it belongs to an own crate
    /// and is not a closure (a closure's cost is its caller's).
    pub fn name(&self, frame: &str) -> Option<String> {
        let (prefix, path) = self.split(frame)?;
        // Closures are spelt `{{closure}}` by pprof-rs and `{closure#0}` by
        // the DWARF names the contention profiles use.
        if path.contains("{{closure}}") || path.contains("{closure#") {
            return None;
        }
        Some(format!("{prefix}{path}"))
    }

    /// The frame's name without its crate, closures included: where a
    /// thread stands, which may well be a closure (a thread's body is one).
    pub fn path(&self, frame: &str) -> Option<String> {
        let (prefix, path) = self.split(frame)?;
        Some(format!("{prefix}{path}"))
    }

    /// `("<", "Job as …>::fmt")` for `<my_crate::Job as …>::fmt`, if the
    /// crate is own.
    fn split<'f>(&self, frame: &'f str) -> Option<(&'static str, &'f str)> {
        let (prefix, rest) = match frame.strip_prefix('<') {
            Some(rest) => ("<", rest),
            None => ("", frame),
        };
        let (krate, path) = rest.split_once("::")?;
        self.crates.contains(krate).then_some((prefix, path))
    }
}

/// `lab_083, solution_083`, or `none`.
impl fmt::Display for Own {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.crates.is_empty() {
            return f.write_str("none");
        }
        let names: Vec<&str> = self.crates.iter().map(String::as_str).collect();
        f.write_str(&names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_names_its_crate() {
        let own = |p: &str| Own::of_program(p).map(|o| o.to_string());
        assert_eq!(
            own("/w/target/debug/order-service").as_deref(),
            Some("order_service")
        );
        assert_eq!(
            own("/w/target/debug/deps/solution_083-1a2b3c4d5e6f7a8b").as_deref(),
            Some("solution_083")
        );
        // A dash that is not cargo's hash is part of the name.
        assert_eq!(own("./lab-083 --out x").as_deref(), Some("lab_083"));
        assert_eq!(own(""), None);
        assert_eq!(own("/usr/bin/9lives"), None);
    }

    #[test]
    fn own_frames_lose_their_crate_and_closures_are_left_out() {
        let own = Own::crates(["order-service"]);
        assert_eq!(own.name("order_service::worker").as_deref(), Some("worker"));
        assert_eq!(own.name("order_service::a::b").as_deref(), Some("a::b"));
        assert_eq!(
            own.name("<order_service::Job as core::fmt::Debug>::fmt")
                .as_deref(),
            Some("<Job as core::fmt::Debug>::fmt")
        );
        assert_eq!(own.name("order_service::main::{{closure}}"), None);
        assert!(own.owns("order_service::main::{{closure}}"));
        assert_eq!(own.name("order_service::run::{closure#0}"), None);
        assert_eq!(own.name("labkit::work::burn"), None);
        assert_eq!(own.name("order_servicex::worker"), None);
        assert!(!own.owns("std::rt::lang_start"));
    }

    #[test]
    fn without_a_program_the_crates_with_main_are_own() {
        let frames = [
            "std::rt::lang_start",
            "bench_sort::main",
            "<T as core::ops::Fn>::main",
            "main",
            "bench_sort::sort",
        ];
        assert_eq!(Own::with_main(frames).to_string(), "bench_sort");
        assert_eq!(Own::of(None, ["std::x"]).to_string(), "none");
        assert_eq!(Own::of(Some("/bin/a-b"), frames).to_string(), "a_b");
    }
}
