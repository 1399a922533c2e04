//! Execution traces with tracing + tracing-chrome: record spans for a
//! scope, and read the Chrome trace JSON back into a short summary.
//!
//! A Chrome trace is a JSON array of events: `"ph": "B"` and `"E"` open and
//! close a span on a thread (`tid`, times `ts` in µs), `"X"` is a whole span
//! with a duration, and `"M"` metadata names the threads. Perfetto
//! (<https://ui.perfetto.dev>) and `chrome://tracing` open it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde_json::Value;

use crate::Error;

/// The file a [`TraceScope`] writes.
pub const TRACE_FILE: &str = "trace.json";

#[cfg(feature = "trace")]
mod scope;
#[cfg(feature = "trace")]
pub use scope::TraceScope;

/// One thread of a trace: its name and where its time went.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreadTrace {
    pub name: String,
    /// Time inside top-level spans, in µs.
    pub busy_us: f64,
    /// The top-level span names of this thread, most time first.
    pub spans: Vec<(String, f64)>,
    /// Every top-level span: (name, start, end), in µs from the trace's start.
    pub intervals: Vec<(String, f64, f64)>,
}

/// A Chrome trace, read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// Completed spans.
    pub spans: u64,
    /// First event to last, in µs.
    pub duration_us: f64,
    /// Threads with at least one span, busiest first.
    pub threads: Vec<ThreadTrace>,
}

/// Reads a Chrome trace JSON file (at most [`crate::profile::MAX_BYTES`]
/// of it).
pub fn load(path: &Path) -> Result<Trace, String> {
    let bytes = crate::profile::read(path).map_err(|e| e.to_string())?;
    parse(path, &bytes)
}

/// Reads a Chrome trace from its bytes; `path` only names the input in
/// errors.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Trace, String> {
    let not_trace = |why: String| {
        format!(
            "{} is not a Chrome trace (expected a JSON array of events with \"ph\", \"ts\" and \
             \"tid\"): {why}",
            path.display()
        )
    };
    let json: Value = serde_json::from_slice(bytes).map_err(|e| not_trace(e.to_string()))?;
    let events = json
        .as_array()
        .or_else(|| json.get("traceEvents").and_then(Value::as_array))
        .ok_or_else(|| not_trace("the top level is not an array".into()))?;
    let mut names: BTreeMap<u64, String> = BTreeMap::new();
    // Per thread: open spans (name, start), busy time, time per span name.
    let mut open: BTreeMap<u64, Vec<(String, f64)>> = BTreeMap::new();
    let mut busy: BTreeMap<u64, (f64, BTreeMap<String, f64>)> = BTreeMap::new();
    let mut intervals: BTreeMap<u64, Vec<(String, f64, f64)>> = BTreeMap::new();
    let (mut first, mut last) = (f64::MAX, f64::MIN);
    let mut spans = 0;
    // Every field this reads is checked for its type: a trace whose
    // events said `"ph":1` or `"ts":"x"` read as "spans: none", rc 0.
    let bad = |i: usize, why: String| format!("{}: event {i}: {why}", path.display());
    for (i, event) in events.iter().enumerate() {
        if !event.is_object() {
            return Err(bad(i, format!("expected an object, found {event}")));
        }
        let ph = match event.get("ph") {
            Some(Value::String(ph)) => ph.as_str(),
            Some(other) => return Err(bad(i, format!("\"ph\" must be a string, not {other}"))),
            None => return Err(bad(i, "has no \"ph\" (its phase: B, E, X, M…)".into())),
        };
        let tid = match event.get("tid") {
            None => 0,
            Some(t) => t
                .as_u64()
                .ok_or_else(|| bad(i, format!("\"tid\" must be a whole number ≥ 0, not {t}")))?,
        };
        let name = match event.get("name") {
            None => "",
            Some(Value::String(n)) => n.as_str(),
            Some(other) => return Err(bad(i, format!("\"name\" must be a string, not {other}"))),
        };
        if ph != "M" {
            match event.get("ts") {
                Some(t) if t.as_f64().is_some() => {}
                Some(t) => return Err(bad(i, format!("\"ts\" must be a number, not {t}"))),
                None => return Err(bad(i, format!("a {ph:?} event has no \"ts\""))),
            }
        }
        if let Some(d) = event.get("dur")
            && !d.as_f64().is_some_and(|d| d >= 0.0)
        {
            return Err(bad(i, format!("\"dur\" must be a number ≥ 0, not {d}")));
        }
        if ph == "M" {
            if name == "thread_name"
                && let Some(n) = event.pointer("/args/name").and_then(Value::as_str)
            {
                names.insert(tid, n.to_string());
            }
            continue;
        }
        let Some(ts) = event.get("ts").and_then(Value::as_f64) else {
            continue;
        };
        first = first.min(ts);
        last = last.max(ts);
        let mut close = |span: String, start: f64, end: f64, depth: usize| {
            spans += 1;
            if depth == 0 {
                let entry = busy.entry(tid).or_default();
                entry.0 += end - start;
                *entry.1.entry(span.clone()).or_default() += end - start;
                intervals.entry(tid).or_default().push((span, start, end));
            }
        };
        match ph {
            "B" => open.entry(tid).or_default().push((name.to_string(), ts)),
            "E" => {
                let stack = open.entry(tid).or_default();
                // An end with no begin is a span that began before the
                // recording did (a trace of the last N seconds): left out.
                let Some((span, start)) = stack.pop() else {
                    continue;
                };
                if ts < start {
                    return Err(bad(
                        i,
                        format!("{span:?} ends at {ts} µs, before its begin at {start} µs"),
                    ));
                }
                let depth = stack.len();
                close(span, start, ts, depth);
            }
            "X" => {
                let dur = event.get("dur").and_then(Value::as_f64).unwrap_or(0.0);
                last = last.max(ts + dur);
                let depth = open.get(&tid).map_or(0, Vec::len);
                close(name.to_string(), ts, ts + dur, depth);
            }
            _ => {}
        }
    }
    let mut threads: Vec<ThreadTrace> = busy
        .into_iter()
        .map(|(tid, (busy_us, by_name))| {
            let mut spans: Vec<(String, f64)> = by_name.into_iter().collect();
            spans.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let intervals = intervals
                .remove(&tid)
                .unwrap_or_default()
                .into_iter()
                .map(|(n, a, b)| (n, a - first, b - first))
                .collect();
            ThreadTrace {
                name: names
                    .get(&tid)
                    .cloned()
                    .unwrap_or_else(|| format!("tid {tid}")),
                busy_us,
                spans,
                intervals,
            }
        })
        .collect();
    threads.sort_by(|a, b| {
        b.busy_us
            .total_cmp(&a.busy_us)
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(Trace {
        spans,
        duration_us: if spans == 0 { 0.0 } else { last - first },
        threads,
    })
}

impl Trace {
    /// Draws the trace as a timeline, one lane per thread, the way Perfetto
    /// shows it, and saves it as SVG (atomically), 1200 px wide.
    pub fn save_timeline(&self, path: &Path) -> Result<(), Error> {
        self.save_timeline_width(path, 1200.0)
    }

    /// [`Trace::save_timeline`], `width` px wide: the book draws it at its
    /// text column's 575.
    pub fn save_timeline_width(&self, path: &Path, width: f64) -> Result<(), Error> {
        const LABEL: f64 = 110.0;
        const LANE: f64 = 28.0;
        let colours = [
            "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1",
        ];
        let mut names: Vec<&str> = self
            .threads
            .iter()
            .flat_map(|t| t.spans.iter().map(|(n, _)| n.as_str()))
            .collect();
        names.sort_unstable();
        names.dedup();
        let colour =
            |n: &str| colours[names.iter().position(|x| *x == n).unwrap_or(0) % colours.len()];
        let mut lanes: Vec<&ThreadTrace> = self.threads.iter().collect();
        lanes.sort_by(|a, b| a.name.cmp(&b.name));
        let height = LANE * (lanes.len() as f64 + 2.0);
        let scale = (width - LABEL - 10.0) / self.duration_us.max(1.0);
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             font-family=\"sans-serif\" font-size=\"13\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        );
        for (i, lane) in lanes.iter().enumerate() {
            let y = LANE * i as f64 + 6.0;
            svg.push_str(&format!(
                "<text x=\"4\" y=\"{:.1}\">{}</text>\n",
                y + 16.0,
                xml_escape(&lane.name)
            ));
            for (name, start, end) in &lane.intervals {
                svg.push_str(&format!(
                    "<rect x=\"{:.2}\" y=\"{y:.1}\" width=\"{:.2}\" height=\"{:.1}\" fill=\"{}\"><title>{} {:.0} µs</title></rect>\n",
                    LABEL + start * scale,
                    ((end - start) * scale).max(0.5),
                    LANE - 8.0,
                    colour(name),
                    xml_escape(name),
                    end - start
                ));
            }
        }
        let y = LANE * lanes.len() as f64 + 22.0;
        let mut x = LABEL;
        for name in &names {
            svg.push_str(&format!(
                "<rect x=\"{x:.0}\" y=\"{:.0}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{:.0}\" y=\"{y:.0}\">{}</text>\n",
                y - 11.0,
                colour(name),
                x + 16.0,
                xml_escape(name)
            ));
            x += 24.0 + 8.0 * name.len() as f64;
        }
        svg.push_str(&format!(
            "<text x=\"{:.0}\" y=\"{y:.0}\">{:.0} ms in all</text>\n</svg>\n",
            width - 120.0,
            self.duration_us / 1000.0
        ));
        crate::atomic::write_bytes(path, svg.as_bytes())
    }

    /// The share of the traced run `thread` spent inside spans, in percent.
    pub fn busy_percent(&self, thread: &str) -> f64 {
        self.threads
            .iter()
            .find(|t| t.name == thread)
            .map_or(0.0, |t| 100.0 * t.busy_us / self.duration_us.max(1.0))
    }
}

/// How busy a thread was, in three wide bands: a trace's timings stretch
/// on a busy machine (a handoff between threads waits for a free core), so
/// the finer bands of a profile summary would flap at their edges.
const BUSY_BANDS: &[(f64, &str)] = &[
    (60.0, "busy (≥ 60%)"),
    (10.0, "part-time (10–60%)"),
    (0.0, "idle (< 10%)"),
];

impl fmt::Display for Trace {
    /// Per thread, how much of the run it spent inside spans, as a wide
    /// band, and its main span; threads ordered by band, then name, so the
    /// text depends on bands alone.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "trace")?;
        if self.spans == 0 {
            return writeln!(f, "spans: none");
        }
        writeln!(
            f,
            "time inside spans, per thread (share of the traced run):"
        )?;
        let mut rows: Vec<(usize, &str, String, &str)> = self
            .threads
            .iter()
            .map(|t| {
                let p = self.busy_percent(&t.name);
                let rank = BUSY_BANDS
                    .iter()
                    .position(|(edge, _)| p >= *edge)
                    .unwrap_or(BUSY_BANDS.len() - 1);
                let label = BUSY_BANDS[rank].1;
                let span = t.spans.first().map_or("", |(n, _)| n.as_str());
                (rank, label, t.name.clone(), span)
            })
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.2.cmp(&b.2)));
        for (_, label, thread, span) in rows {
            writeln!(f, "  {label:<19} {thread:<10} {span}")?;
        }
        Ok(())
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_summed_per_thread_and_named() {
        let text = r#"[
            {"ph":"M","name":"thread_name","tid":1,"args":{"name":"consumer"}},
            {"ph":"M","name":"thread_name","tid":2,"args":{"name":"worker-0"}},
            {"ph":"B","name":"consume","tid":1,"ts":0},
            {"ph":"B","name":"inner","tid":1,"ts":10},
            {"ph":"E","name":"inner","tid":1,"ts":20},
            {"ph":"E","name":"consume","tid":1,"ts":95},
            {"ph":"X","name":"work","tid":2,"ts":10,"dur":20},
            {"ph":"B","name":"consume","tid":1,"ts":96},
            {"ph":"E","name":"consume","tid":1,"ts":100}
        ]"#;
        let t = parse(Path::new("t.json"), text.as_bytes()).unwrap();
        assert_eq!(t.spans, 4);
        assert_eq!(t.duration_us, 100.0);
        assert_eq!(t.busy_percent("consumer"), 99.0);
        assert_eq!(t.busy_percent("worker-0"), 20.0);
        assert_eq!(
            t.to_string(),
            "trace\ntime inside spans, per thread (share of the traced run):\n  \
             busy (≥ 60%)        consumer   consume\n  \
             part-time (10–60%)  worker-0   work\n"
        );
    }

    #[test]
    fn an_empty_trace_and_a_broken_file_are_told_apart() {
        let empty = parse(Path::new("t.json"), b"[\n\n]").unwrap();
        assert_eq!(empty.to_string(), "trace\nspans: none\n");
        let err = parse(Path::new("t.json"), b"[\n{\"ph\":\"B\"").unwrap_err();
        assert!(err.contains("t.json is not a Chrome trace"), "{err}");
    }

    #[test]
    fn a_timeline_is_as_wide_as_asked_and_its_lanes_fit() {
        let text = r#"[
            {"ph":"M","name":"thread_name","tid":1,"args":{"name":"consumer"}},
            {"ph":"X","name":"consume","tid":1,"ts":0,"dur":100}
        ]"#;
        let t = parse(Path::new("t.json"), text.as_bytes()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.svg");
        t.save_timeline_width(&path, 575.0).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.contains(r#"width="575""#), "{svg}");
        // The one span runs from the end of the lane labels to the right
        // margin: 575 less 110 for the labels, less 10.
        assert!(
            svg.contains(r#"x="110.00" y="6.0" width="455.00""#),
            "{svg}"
        );
        t.save_timeline(&path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.contains(r#"width="1200""#), "{svg}");
    }
}
