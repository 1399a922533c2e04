//! Every reader behind `labkit summary`, fed thousands of damaged copies of
//! a valid file: each must return an error or a summary, never panic.
//!
//! A fuzzer in miniature, deterministic so that a failure repeats: a fixed
//! seed drives two kinds of damage. Byte damage (flip a bit, overwrite,
//! insert, delete, duplicate a run, cut the end) mostly tests the decoders.
//! Damage by meaning reaches further, into the code that runs once a file
//! has decoded: numbers swapped for extremes (`i64::MAX`, `u64::MAX`, -1,
//! 1e308), indices pointing outside their tables, sample types removed,
//! values missing. A failure prints the seed and the case that broke.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use labkit::proto as protos;
use labkit::summary::{Kind, summarise};
use prost::Message;

/// Damaged copies per reader and per seed file.
const CASES: u64 = 3_000;

/// xorshift64*: small, fast and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

const EXTREME_I64: &[i64] = &[0, 1, -1, i64::MAX, i64::MIN, i64::MAX / 2 + 1, 1 << 32];

/// Damages `bytes` in one to four places.
fn damage_bytes(rng: &mut Rng, bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(b.len());
        match rng.below(6) {
            0 if !b.is_empty() => b[at] ^= 1 << rng.below(8),
            1 if !b.is_empty() => b[at] = rng.pick(&[0, 0x7f, 0x80, 0xff, b'9', b'"', b'[']),
            2 => b.insert(at, rng.next() as u8),
            3 => {
                let end = (at + 1 + rng.below(16)).min(b.len());
                b.drain(at..end);
            }
            4 => {
                let end = (at + 1 + rng.below(32)).min(b.len());
                let run = b[at..end].to_vec();
                b.splice(at..at, run);
            }
            _ => b.truncate(at),
        }
    }
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// A contention profile as labkit writes one: two threads, three
/// functions, inlined lines, labels.
fn valid_pprof() -> protos::Profile {
    let strings: Vec<String> = [
        "",
        "contentions",
        "count",
        "delay",
        "nanoseconds",
        "lab_1::main",
        "lab_1::worker::h0123456789abcdef",
        "std::rt::lang_start",
        "thread",
        "worker-0",
        "worker-1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let function = |id: u64, name: i64| protos::Function {
        id,
        name,
        ..Default::default()
    };
    let line = |function_id: u64| protos::Line {
        function_id,
        line: 1,
    };
    let label = |s: i64| protos::Label {
        key: 8,
        str: s,
        ..Default::default()
    };
    protos::Profile {
        sample_type: vec![
            protos::ValueType { ty: 1, unit: 2 },
            protos::ValueType { ty: 3, unit: 4 },
        ],
        sample: vec![
            protos::Sample {
                location_id: vec![2, 1],
                value: vec![3, 3_000],
                label: vec![label(9)],
            },
            protos::Sample {
                location_id: vec![1],
                value: vec![1, 500],
                label: vec![label(10)],
            },
        ],
        location: vec![
            protos::Location {
                id: 1,
                line: vec![line(1), line(3)],
                ..Default::default()
            },
            protos::Location {
                id: 2,
                line: vec![line(2)],
                ..Default::default()
            },
        ],
        function: vec![function(1, 5), function(2, 6), function(3, 7)],
        string_table: strings,
        ..Default::default()
    }
}

/// Damages a decoded profile by meaning, in one to three places.
fn damage_pprof(rng: &mut Rng, p: &mut protos::Profile) {
    for _ in 0..1 + rng.below(3) {
        let x = rng.pick(EXTREME_I64);
        match rng.below(9) {
            0 => {
                if let Some(s) = p.sample.get_mut(rng.below(2)) {
                    let i = rng.below(s.value.len());
                    if let Some(v) = s.value.get_mut(i) {
                        *v = x;
                    }
                }
            }
            1 => {
                let n = rng.below(p.sample_type.len() + 1);
                p.sample_type.truncate(n);
            }
            2 => {
                if let Some(s) = p.sample.get_mut(rng.below(2)) {
                    s.value.pop();
                }
            }
            3 => {
                if let Some(t) = p.sample_type.get_mut(rng.below(2)) {
                    t.ty = x;
                }
            }
            4 => {
                if let Some(f) = p.function.get_mut(rng.below(3)) {
                    f.name = x;
                }
            }
            5 => {
                if let Some(l) = p.location.get_mut(rng.below(2)) {
                    l.line.push(protos::Line {
                        function_id: x as u64,
                        line: x,
                    });
                }
            }
            6 => {
                if let Some(s) = p.sample.get_mut(rng.below(2)) {
                    s.location_id.push(x as u64);
                    s.label.push(protos::Label {
                        key: x,
                        str: x,
                        ..Default::default()
                    });
                }
            }
            7 => {
                let copy = p.sample.clone();
                p.sample.extend(copy);
            }
            _ => p.string_table.truncate(rng.below(12)),
        }
    }
}

/// Decodes `bytes` and summarises them every way `labkit summary` can.
fn read_pprof(bytes: &[u8]) {
    let Ok(profile) = labkit::profile::decode(Path::new("fuzz.pb.gz"), bytes) else {
        return;
    };
    for kind in [Kind::Cpu, Kind::Block, Kind::Mutex] {
        // The check is what `labkit summary` runs first; summarise must not
        // panic even without it.
        let _ = kind.check(&profile);
        let summary = summarise(&profile, kind, 1);
        let _ = summary.to_string();
        // The views of `--sample-index` and `--by-thread`, over every
        // sample type the file has.
        for index in 0..profile.sample_types.len() {
            let _ = labkit::view::by_frame(&profile, kind, index, 1).to_string();
            let _ = labkit::view::by_thread(&profile, kind, index, 1).to_string();
            let _ = labkit::view::by_label(&profile, kind, index, 1, "kind").to_string();
        }
    }
}

const VALID_DHAT: &str = r#"{"dhatFileVersion":2,"mode":"rust-heap","verb":"Allocated","bklt":true,"bkacc":false,"tu":"µs","Mtu":"s","tuth":10,"cmd":"target/debug/lab-1 --out x","pid":1,"tg":5,"te":9,
"pps":[{"tb":4096,"tbk":4,"tl":10,"mb":2048,"mbk":2,"gb":1024,"gbk":1,"eb":0,"ebk":0,"fs":[1,2]},
{"tb":100,"tbk":1,"tl":1,"mb":100,"mbk":1,"gb":100,"gbk":1,"eb":0,"ebk":0,"fs":[3]}],
"ftbl":["[root]","0x1: lab_1::build (src/main.rs:3:5)","0x2: lab_1::main (src/main.rs:9:1)","0x3: std::rt::lang_start"]}"#;

const VALID_TRACE: &str = r#"[
{"ph":"M","pid":1,"name":"thread_name","tid":1,"args":{"name":"consumer"}},
{"ph":"M","pid":1,"name":"thread_name","tid":2,"args":{"name":"worker-0"}},
{"ph":"B","pid":1,"name":"consume","tid":1,"ts":0.5},
{"ph":"B","pid":1,"name":"inner","tid":1,"ts":10},
{"ph":"E","pid":1,"name":"inner","tid":1,"ts":20},
{"ph":"E","pid":1,"name":"consume","tid":1,"ts":95},
{"ph":"X","pid":1,"name":"work","tid":2,"ts":10,"dur":20},
{"ph":"i","pid":1,"name":"mark","tid":2,"ts":50}
]"#;

/// Numbers a JSON file may be damaged with.
const EXTREME_JSON: &[&str] = &[
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "-1",
    "-9223372036854775808",
    "1e308",
    "-1e308",
    "0",
    "0.5",
    "null",
    "\"7\"",
    "[]",
    "{}",
];

/// Damages JSON by meaning: one to four of its numbers replaced by extremes.
fn damage_json(rng: &mut Rng, text: &str) -> String {
    let mut out = text.to_string();
    for _ in 0..1 + rng.below(4) {
        let spans: Vec<(usize, usize)> = number_spans(&out);
        if spans.is_empty() {
            break;
        }
        let (start, end) = spans[rng.below(spans.len())];
        out.replace_range(start..end, rng.pick(EXTREME_JSON));
    }
    out
}

/// Where the numbers are (outside strings, roughly: good enough to aim).
fn number_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts = (bytes[i].is_ascii_digit() || bytes[i] == b'-')
            && i > 0
            && matches!(bytes[i - 1], b':' | b',' | b'[');
        if starts {
            let start = i;
            i += 1;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || b".eE+-".contains(&bytes[i])) {
                i += 1;
            }
            spans.push((start, i));
        } else {
            i += 1;
        }
    }
    spans
}

fn read_dhat(bytes: &[u8]) {
    if let Ok(heap) = labkit::heap::parse(Path::new("dhat-heap.json"), bytes) {
        let _ = heap.to_string();
    }
}

fn read_trace(bytes: &[u8]) {
    if let Ok(trace) = labkit::trace::parse(Path::new("trace.json"), bytes) {
        let _ = trace.to_string();
        for t in &trace.threads {
            let _ = trace.busy_percent(&t.name);
        }
    }
}

/// Runs `read` on `input`; a panic fails the test with the case.
fn never_panics(reader: &str, case: u64, input: &[u8], read: fn(&[u8])) {
    if catch_unwind(AssertUnwindSafe(|| read(input))).is_err() {
        panic!(
            "the {reader} reader panicked on case {case}; its input ({} bytes): {:?}",
            input.len(),
            String::from_utf8_lossy(&input[..input.len().min(2000)])
        );
    }
}

#[test]
fn the_valid_seeds_are_read() {
    let bytes = valid_pprof().encode_to_vec();
    let profile = labkit::profile::decode(Path::new("p"), &gzip(&bytes)).unwrap();
    assert_eq!(profile.samples.len(), 2);
    let heap = labkit::heap::parse(Path::new("h"), VALID_DHAT.as_bytes()).unwrap();
    assert_eq!(heap.total_bytes, 4196);
    let trace = labkit::trace::parse(Path::new("t"), VALID_TRACE.as_bytes()).unwrap();
    assert_eq!(trace.spans, 3);
    assert_eq!(number_spans(VALID_TRACE).len(), 23);
}

#[test]
fn the_pprof_reader_never_panics() {
    let valid = valid_pprof();
    let mut rng = Rng(0x5EED_0001);
    for case in 0..CASES {
        let mut p = valid.clone();
        damage_pprof(&mut rng, &mut p);
        let raw = p.encode_to_vec();
        never_panics("pprof", case, &raw, read_pprof);
        never_panics("pprof", case, &gzip(&raw), read_pprof);
        let raw = damage_bytes(&mut rng, &valid.encode_to_vec());
        never_panics("pprof", case, &raw, read_pprof);
        let gz = damage_bytes(&mut rng, &gzip(&valid.encode_to_vec()));
        never_panics("pprof", case, &gz, read_pprof);
    }
}

#[test]
fn the_dhat_reader_never_panics() {
    let mut rng = Rng(0x5EED_0002);
    for case in 0..CASES {
        let json = damage_json(&mut rng, VALID_DHAT);
        never_panics("dhat", case, json.as_bytes(), read_dhat);
        let bytes = damage_bytes(&mut rng, VALID_DHAT.as_bytes());
        never_panics("dhat", case, &bytes, read_dhat);
    }
}

#[test]
fn the_trace_reader_never_panics() {
    let mut rng = Rng(0x5EED_0003);
    for case in 0..CASES {
        let json = damage_json(&mut rng, VALID_TRACE);
        never_panics("trace", case, json.as_bytes(), read_trace);
        let bytes = damage_bytes(&mut rng, VALID_TRACE.as_bytes());
        never_panics("trace", case, &bytes, read_trace);
    }
}
