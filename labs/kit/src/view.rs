//! What `labkit summary` can be asked beyond its default view, each the
//! twin of a `go tool pprof` option, so that no exercise needs Go:
//!
//! - [`Source`]: a file, or a URL on the loopback address
//!   (`go tool pprof http://127.0.0.1:8089/debug/pprof/block`);
//! - [`SampleIndex`]: which sample type weighs the ranking
//!   (`-sample_index=contentions`);
//! - [`by_thread`]: the weight of each value of the `thread` label that
//!   pprof-rs and labkit attach to every sample (`-tags`).
//!
//! The default summary stays in [`crate::summary`]; this module only adds
//! views on top of it, in the same bands.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::profile::{Profile, Sample};
use crate::summary::{CUTOFF_PERCENT, FrameShare, Kind, NO_OWN_CRATE, band, band_rank};

/// Where a profile comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    /// `http://HOST:PORT/PATH`, with a numeric loopback host.
    Url {
        addr: SocketAddr,
        path: String,
    },
}

impl Source {
    /// A URL if `text` starts with `http://`, else a file path. A URL that
    /// is not plain HTTP to a numeric loopback address is refused by name.
    pub fn parse(text: &str) -> Result<Source, String> {
        let example = "such as http://127.0.0.1:8089/debug/pprof/block";
        if text.starts_with("https://") {
            return Err(format!(
                "{text}: https is not supported: the workbook's services speak plain HTTP on \
                 127.0.0.1 ({example})"
            ));
        }
        let Some(rest) = text.strip_prefix("http://") else {
            if text.contains("://") {
                return Err(format!(
                    "{text}: only http:// URLs and file paths can be read ({example})"
                ));
            }
            return Ok(Source::File(PathBuf::from(text)));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let addr: SocketAddr = authority.parse().map_err(|_| {
            format!(
                "{text}: '{authority}' is not a numeric HOST:PORT; write the address the service \
                 printed ({example})"
            )
        })?;
        if !addr.ip().is_loopback() {
            return Err(format!(
                "{text}: {addr} is not a loopback address: labkit only reads from 127.0.0.1 \
                 ({example})"
            ));
        }
        Ok(Source::Url {
            addr,
            path: path.to_string(),
        })
    }

    /// The last segment of the path (`mutex.pb.gz`, `mutex`), which says
    /// which kind of contention profile a file holds.
    pub fn last_segment(&self) -> String {
        match self {
            Source::File(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            Source::Url { path, .. } => {
                let path = path.split('?').next().unwrap_or("");
                path.rsplit('/').next().unwrap_or("").to_string()
            }
        }
    }

    /// How errors name this source.
    pub fn name(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Url { addr, path } => format!("http://{addr}{path}"),
        }
    }
}

/// How long a fetch may take: a profile asked for `?seconds=N` takes N
/// seconds before its first byte, and one asked without takes the
/// endpoint's default (Go's: 30 s for `profile`, 1 s for `trace`), so it
/// gets those and 30 more. A `profile` without `seconds` was given 30 s in
/// all, as long as the capture itself: it failed one run in three.
pub fn fetch_timeout(path: &str) -> Duration {
    let (endpoint, query) = path.split_once('?').unwrap_or((path, ""));
    let asked = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("seconds="))
        .and_then(|s| s.parse::<u64>().ok());
    let default = if endpoint.ends_with("/profile") {
        30
    } else if endpoint.ends_with("/trace") {
        1
    } else {
        0
    };
    Duration::from_secs(asked.unwrap_or(default).saturating_add(30))
}

/// `GET`s a profile from a service on the loopback address. A failure
/// says what was seen: nothing listening, or a connection that gave no
/// complete answer in time.
pub fn fetch(addr: SocketAddr, path: &str) -> Result<Vec<u8>, String> {
    let url = format!("http://{addr}{path}");
    let timeout = fetch_timeout(path);
    let response = crate::http::request(addr, "GET", path, None, timeout)
        .map_err(|e| fetch_failed(&url, addr, timeout, &e))?;
    if response.status != 200 {
        let text = response.text();
        let text: String = text.trim().chars().take(300).collect();
        return Err(format!(
            "GET {url} answered {} instead of 200: {text}",
            response.status
        ));
    }
    Ok(response.body)
}

/// What a failed fetch says: what was seen, never a guess.
fn fetch_failed(url: &str, addr: SocketAddr, timeout: Duration, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => format!(
            "GET {url} failed: nothing listens on {addr} (connection refused; is the service \
             running there?)"
        ),
        std::io::ErrorKind::TimedOut => format!(
            "GET {url}: connected, but no complete answer within {} s (the service accepted \
             the request and is still working, or stuck)",
            timeout.as_secs()
        ),
        _ => format!("GET {url} failed: {e}"),
    }
}

/// Which sample type a view weighs by: a name (`contentions`) or a
/// position (`0`), as `go tool pprof -sample_index` takes either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleIndex(pub String);

impl SampleIndex {
    /// The position of this sample type in `profile`, or an error that
    /// lists the ones it has.
    pub fn resolve(&self, profile: &Profile, source: &str) -> Result<usize, String> {
        let found = match self.0.parse::<usize>() {
            Ok(i) if i < profile.sample_types.len() => Some(i),
            Ok(_) => None,
            Err(_) => profile.value_index(&self.0),
        };
        found.ok_or_else(|| {
            let types: Vec<String> = profile
                .sample_types
                .iter()
                .enumerate()
                .map(|(i, (t, u))| format!("{i} = {t} ({u})"))
                .collect();
            format!(
                "--sample-index {}: {source} has no such sample type; it has {}",
                self.0,
                types.join(", ")
            )
        })
    }
}

/// The sample value the default summary of `kind` weighs by in
/// `profile` (see [`Kind::weight_index`]).
pub fn default_index(profile: &Profile, kind: Kind) -> usize {
    kind.weight_index(profile)
}

/// A ranked view of one profile: the workload's own frames, or its
/// threads, weighed by one sample type.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub kind: Kind,
    /// `(type, unit)` of the value the shares are of.
    pub weighed_by: (String, String),
    /// Whether this is the default weight of `kind` (then the summary's
    /// own words are used).
    pub default_weight: bool,
    /// Samples or contentions, against the floor.
    pub samples: i64,
    pub min_samples: i64,
    /// The total of the value weighed by.
    pub total: i64,
    /// `Some(key)`: rows are the values of label `key` (`thread` for
    /// threads); `None`: own frames.
    pub by_label: Option<String>,
    /// Whether any crate was known as the program's own.
    pub own_known: bool,
    pub rows: Vec<FrameShare>,
}

/// The workload's own frames, ranked by the share of value `index`.
pub fn by_frame(profile: &Profile, kind: Kind, index: usize, min_samples: i64) -> View {
    let rows = shares(profile, index, |s| {
        let mut own: Vec<String> = s.stack.iter().filter_map(|f| profile.own.name(f)).collect();
        own.sort();
        own.dedup();
        own
    })
    .into_iter()
    .filter(|f| f.percent >= CUTOFF_PERCENT)
    .collect();
    view(profile, kind, index, min_samples, None, rows)
}

/// Every value of the `thread` label, ranked by the share of value
/// `index`. Samples without the label are one row, `(no thread label)`.
pub fn by_thread(profile: &Profile, kind: Kind, index: usize, min_samples: i64) -> View {
    let rows = shares(profile, index, |s| {
        vec![
            s.thread
                .clone()
                .unwrap_or_else(|| "(no thread label)".to_string()),
        ]
    });
    view(profile, kind, index, min_samples, Some("thread"), rows)
}

/// The weight of each value of label `key` (Go's `-tags`, or `-tagfocus
/// key=value` one value at a time): `(no KEY label)` for samples without
/// it. A `thread` key reads the thread label as [`by_thread`] does.
pub fn by_label(profile: &Profile, kind: Kind, index: usize, min_samples: i64, key: &str) -> View {
    if key == "thread" {
        return by_thread(profile, kind, index, min_samples);
    }
    let rows = shares(profile, index, |s| {
        vec![
            s.label(key)
                .map_or_else(|| format!("(no {key} label)"), str::to_string),
        ]
    });
    view(profile, kind, index, min_samples, Some(key), rows)
}

fn view(
    profile: &Profile,
    kind: Kind,
    index: usize,
    min_samples: i64,
    by_label: Option<&str>,
    rows: Vec<FrameShare>,
) -> View {
    View {
        kind,
        weighed_by: profile.sample_types[index].clone(),
        default_weight: index == default_index(profile, kind),
        samples: profile.total(0),
        min_samples,
        total: profile.total(index),
        by_label: by_label.map(str::to_string),
        rows,
        own_known: !profile.own.is_empty(),
    }
}

/// Shares of value `index` per key, ranked by band then name; a sample
/// adds its value once to each key it yields.
fn shares(
    profile: &Profile,
    index: usize,
    keys: impl Fn(&Sample) -> Vec<String>,
) -> Vec<FrameShare> {
    let mut by_key: BTreeMap<String, i64> = BTreeMap::new();
    let mut total = 0i64;
    for s in &profile.samples {
        let value = s.values.get(index).copied().unwrap_or(0);
        total = total.saturating_add(value);
        for key in keys(s) {
            let entry = by_key.entry(key).or_default();
            *entry = entry.saturating_add(value);
        }
    }
    let mut rows: Vec<FrameShare> = by_key
        .into_iter()
        .map(|(name, n)| FrameShare {
            expected: None,
            name,
            percent: if total == 0 {
                0.0
            } else {
                100.0 * n as f64 / total as f64
            },
        })
        .collect();
    rows.sort_by(|a, b| {
        band_rank(a.percent)
            .cmp(&band_rank(b.percent))
            .then_with(|| a.name.cmp(&b.name))
    });
    rows
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ty, unit) = &self.weighed_by;
        let weighed = if self.default_weight {
            self.kind.weighed().to_string()
        } else {
            format!("{ty} ({unit})")
        };
        writeln!(f, "{}", self.kind.title())?;
        let counted = match self.kind {
            Kind::Cpu => "samples",
            Kind::Block | Kind::Mutex => "contentions",
            Kind::Heap => "",
        };
        if self.kind == Kind::Heap {
            let (ty, unit) = &self.weighed_by;
            writeln!(
                f,
                "{ty}: {} {unit} in all (estimated from sampled allocations)",
                self.total
            )?;
        } else if self.samples < self.min_samples {
            return writeln!(
                f,
                "{counted}: too few (under {}): not enough to rank anything",
                self.min_samples
            );
        }
        if self.kind != Kind::Heap {
            writeln!(f, "{counted}: ≥ {}", self.min_samples)?;
        }
        if self.by_label.as_deref() == Some("thread") {
            writeln!(f, "threads (the `thread` label), by share of {weighed}:")?;
        } else if let Some(key) = &self.by_label {
            writeln!(f, "values of the `{key}` label, by share of {weighed}:")?;
        } else if !self.own_known {
            return writeln!(f, "{NO_OWN_CRATE}");
        } else if self.rows.is_empty() {
            return writeln!(f, "own frames: none at or above {CUTOFF_PERCENT}%");
        } else {
            writeln!(
                f,
                "own frames, by share of {weighed} on stacks that hold them:"
            )?;
        }
        for row in &self.rows {
            let label = band(row.percent).unwrap_or("< 3%");
            writeln!(f, "  {label:<8} {}", row.name)?;
        }
        Ok(())
    }
}

/// The file name a source's errors use, for [`crate::profile::decode`].
pub fn error_path(source: &Source) -> PathBuf {
    match source {
        Source::File(p) => p.clone(),
        Source::Url { .. } => Path::new(&source.name()).to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_profile() -> Profile {
        let sample = |stack: &[&str], thread: Option<&str>, values: [i64; 2]| Sample {
            stack: stack.iter().map(|s| s.to_string()).collect(),
            values: values.to_vec(),
            thread: thread.map(str::to_string),
            labels: Vec::new(),
        };
        Profile {
            sample_types: vec![
                ("contentions".into(), "count".into()),
                ("delay".into(), "nanoseconds".into()),
            ],
            samples: vec![
                sample(
                    &["lab_1::worker", "lab_1::deliver"],
                    Some("worker-0"),
                    [10, 400],
                ),
                sample(
                    &["lab_1::worker", "lab_1::deliver"],
                    Some("worker-1"),
                    [10, 400],
                ),
                sample(&["lab_1::produce"], Some("producer"), [80, 200]),
            ],
            own: crate::own::Own::crates(["lab_1"]),
            duration_ns: 0,
            default_sample_type: None,
        }
    }

    #[test]
    fn a_url_must_be_plain_http_to_a_numeric_loopback_address() {
        assert_eq!(
            Source::parse("http://127.0.0.1:8089/debug/pprof/block").unwrap(),
            Source::Url {
                addr: "127.0.0.1:8089".parse().unwrap(),
                path: "/debug/pprof/block".into()
            }
        );
        assert_eq!(
            Source::parse("lab-out/085/block.pb.gz").unwrap(),
            Source::File("lab-out/085/block.pb.gz".into())
        );
        let err = Source::parse("http://localhost:8089/debug/pprof/block").unwrap_err();
        assert!(
            err.contains("'localhost:8089' is not a numeric HOST:PORT"),
            "{err}"
        );
        let err = Source::parse("http://10.0.0.1:80/x").unwrap_err();
        assert!(
            err.contains("10.0.0.1:80 is not a loopback address"),
            "{err}"
        );
        let err = Source::parse("https://127.0.0.1:8089/x").unwrap_err();
        assert!(err.contains("https is not supported"), "{err}");
        let err = Source::parse("ftp://127.0.0.1/x").unwrap_err();
        assert!(err.contains("only http:// URLs"), "{err}");
        let url = Source::parse("http://127.0.0.1:1/debug/pprof/mutex?seconds=5").unwrap();
        assert_eq!(url.last_segment(), "mutex");
        assert_eq!(
            fetch_timeout("/debug/pprof/profile?seconds=5"),
            Duration::from_secs(35)
        );
        assert_eq!(fetch_timeout("/debug/pprof/block"), Duration::from_secs(30));
        // Without `seconds`, the endpoint's default capture and the margin:
        // 30 s in all made `summary …/profile` fail one run in three.
        assert_eq!(
            fetch_timeout("/debug/pprof/profile"),
            Duration::from_secs(60)
        );
        assert_eq!(
            fetch_timeout("/debug/pprof/trace?x=1"),
            Duration::from_secs(31)
        );
    }

    /// A service that accepts and never answers is not "not running".
    #[test]
    fn a_timeout_says_the_service_was_there() {
        let addr: SocketAddr = "127.0.0.1:8089".parse().unwrap();
        let late = std::io::Error::new(std::io::ErrorKind::TimedOut, "late");
        let err = fetch_failed("http://x/profile", addr, Duration::from_secs(60), &late);
        assert!(
            err.contains("connected, but no complete answer within 60 s")
                && !err.contains("is the service running"),
            "{err}"
        );
    }

    #[test]
    fn a_sample_type_is_found_by_name_or_position_and_a_wrong_one_is_named() {
        let p = block_profile();
        assert_eq!(
            SampleIndex("contentions".into()).resolve(&p, "f").unwrap(),
            0
        );
        assert_eq!(SampleIndex("1".into()).resolve(&p, "f").unwrap(), 1);
        let err = SampleIndex("cpu".into())
            .resolve(&p, "b.pb.gz")
            .unwrap_err();
        assert_eq!(
            err,
            "--sample-index cpu: b.pb.gz has no such sample type; it has \
             0 = contentions (count), 1 = delay (nanoseconds)"
        );
        assert!(SampleIndex("2".into()).resolve(&p, "f").is_err());
    }

    #[test]
    fn counting_waits_instead_of_delay_changes_the_ranking() {
        let p = block_profile();
        let delay = by_frame(&p, Kind::Block, 1, 50).to_string();
        assert_eq!(
            delay,
            "block profile\ncontentions: ≥ 50\n\
             own frames, by share of the waiting time on stacks that hold them:\n  \
             70–90%   deliver\n  \
             70–90%   worker\n  \
             10–30%   produce\n"
        );
        let count = by_frame(&p, Kind::Block, 0, 50).to_string();
        assert_eq!(
            count,
            "block profile\ncontentions: ≥ 50\n\
             own frames, by share of contentions (count) on stacks that hold them:\n  \
             70–90%   produce\n  \
             10–30%   deliver\n  \
             10–30%   worker\n"
        );
    }

    #[test]
    fn threads_are_the_values_of_the_thread_label() {
        let mut p = block_profile();
        p.samples[2].thread = None;
        let text = by_thread(&p, Kind::Block, 1, 50).to_string();
        assert_eq!(
            text,
            "block profile\ncontentions: ≥ 50\n\
             threads (the `thread` label), by share of the waiting time:\n  \
             30–50%   worker-0\n  \
             30–50%   worker-1\n  \
             10–30%   (no thread label)\n"
        );
        let few = by_thread(&p, Kind::Block, 1, 500).to_string();
        assert!(
            few.ends_with("too few (under 500): not enough to rank anything\n"),
            "{few}"
        );
    }

    #[test]
    fn a_service_that_is_not_there_or_answers_an_error_is_named() {
        // A port that was free a moment ago: nothing listens there.
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = free.local_addr().unwrap();
        drop(free);
        let err = fetch(addr, "/debug/pprof/block").unwrap_err();
        assert!(
            err.contains(&format!("GET http://{addr}/debug/pprof/block failed"))
                && err.contains("connection refused; is the service running"),
            "{err}"
        );
        // A server that answers 404 once.
        let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let handle = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut conn, _) = server.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = conn.read(&mut buf);
            conn.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nno route\n")
                .unwrap();
        });
        let err = fetch(addr, "/debug/pprof/heap").unwrap_err();
        handle.join().unwrap();
        assert_eq!(
            err,
            format!("GET http://{addr}/debug/pprof/heap answered 404 instead of 200: no route")
        );
    }
}
