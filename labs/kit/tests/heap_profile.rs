//! `/debug/pprof/heap` and `/debug/pprof/allocs` serve Go's heap profile:
//! four sample types in Go's order, sampled at Go's 512 KiB, scaled to
//! what the samples stand for, and stacks that start at the code that
//! asked for memory, named with their crate paths.
//!
//! Before, `heap` gave `inuse_space` only, `allocs` was 404, `heap?debug=1`
//! returned the binary profile without a word, and frames lost their crate
//! paths (`::call_once`).
//!
//! The program holds 48 blocks of 1 MiB allocated in `hold` and has
//! allocated and freed 192 more in `churn`: `inuse_space` must show about
//! 48 MiB at `hold` and nothing at `churn`, `alloc_space` about 192 MiB at
//! `churn`. (A 1 MiB block is sampled with probability 1 − e⁻² ≈ 0.86; the
//! margins below are several standard deviations of that draw.)

use std::net::SocketAddr;
use std::time::Duration;

use labkit::net::{Background, Limits};
use labkit::proto::Profile;

#[global_allocator]
static ALLOC: live_heap::Jemalloc = live_heap::Jemalloc;

const MIB: usize = 1 << 20;

#[inline(never)]
fn hold() -> Vec<Vec<u8>> {
    (0..48).map(|i| vec![i as u8; MIB]).collect()
}

#[inline(never)]
fn churn() -> u64 {
    let mut sum = 0;
    for i in 0..192 {
        let block = std::hint::black_box(vec![i as u8; MIB]);
        sum += u64::from(block[MIB - 1]);
    }
    sum
}

fn start() -> Background {
    let limits = Limits::new(Duration::from_secs(30));
    Background::start(labkit::endpoints::router(10), limits, 1).unwrap()
}

fn get(addr: SocketAddr, path: &str) -> labkit::http::Response {
    labkit::http::request(addr, "GET", path, None, Duration::from_secs(30)).unwrap()
}

fn decode(body: &[u8]) -> Profile {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(body), &mut bytes).unwrap();
    prost::Message::decode(&bytes[..]).unwrap()
}

/// Each sample's values summed by the function nearest the leaf whose
/// name starts with `prefix`.
fn at(p: &Profile, function: &str) -> Vec<i64> {
    let name = |i: i64| p.string_table[i as usize].as_str();
    let mut sum = vec![0; p.sample_type.len()];
    for s in &p.sample {
        let hit = s.location_id.iter().any(|&id| {
            p.location[id as usize - 1]
                .line
                .iter()
                .any(|l| name(p.function[l.function_id as usize - 1].name) == function)
        });
        if hit {
            for (total, v) in sum.iter_mut().zip(&s.value) {
                *total += v;
            }
        }
    }
    sum
}

/// `inuse_objects` of the samples that hold `function` and stand for
/// objects of at least `min_size` bytes each (`inuse_space / inuse_objects`).
fn at_sized(p: &Profile, function: &str, min_size: i64) -> i64 {
    let name = |i: i64| p.string_table[i as usize].as_str();
    p.sample
        .iter()
        .filter(|s| {
            s.location_id.iter().any(|&id| {
                p.location[id as usize - 1]
                    .line
                    .iter()
                    .any(|l| name(p.function[l.function_id as usize - 1].name) == function)
            })
        })
        .filter(|s| s.value[2] > 0 && s.value[3] / s.value[2] >= min_size)
        .map(|s| s.value[2])
        .sum()
}

fn mib(bytes: i64) -> f64 {
    bytes as f64 / MIB as f64
}

#[test]
fn heap_and_allocs_serve_gos_four_types() {
    let kept = hold();
    std::hint::black_box(churn());
    let server = start();
    let addr = server.addr();

    let heap = get(addr, "/debug/pprof/heap");
    assert_eq!(heap.status, 200, "{}", heap.text());
    let heap = decode(&heap.body);
    let name = |p: &Profile, i: i64| p.string_table[i as usize].clone();
    let types: Vec<(String, String)> = heap
        .sample_type
        .iter()
        .map(|t| (name(&heap, t.ty), name(&heap, t.unit)))
        .collect();
    let go = [
        ("alloc_objects", "count"),
        ("alloc_space", "bytes"),
        ("inuse_objects", "count"),
        ("inuse_space", "bytes"),
    ];
    assert_eq!(
        types,
        go.map(|(t, u)| (t.to_string(), u.to_string())).to_vec()
    );
    assert_eq!(heap.period, 524288);
    assert_eq!(heap.default_sample_type, 0, "heap: pprof shows inuse_space");

    let held = at(&heap, "heap_profile::hold");
    let churned = at(&heap, "heap_profile::churn");
    assert!(
        (38.0..=58.0).contains(&mib(held[3])),
        "inuse_space at hold: {:.1} MiB, 48 MiB held",
        mib(held[3])
    );
    assert!(
        mib(churned[3]) < 2.0,
        "inuse_space at churn: {:.1} MiB, all freed",
        mib(churned[3])
    );
    assert!(
        (160.0..=224.0).contains(&mib(churned[1])),
        "alloc_space at churn: {:.1} MiB, 192 MiB allocated",
        mib(churned[1])
    );
    // Objects are counted on the 1 MiB blocks' samples only: `hold`'s
    // other allocation, the 1.1 KB vector that holds them, is sampled now
    // and then (about 1 run in 500), and a sampled 1.1 KB object stands
    // for ~455 objects (512 KiB / 1.1 KB): Go's scaling, right on average,
    // and it once made this count 453.
    let blocks = at_sized(&heap, "heap_profile::hold", MIB as i64 / 2);
    assert!(
        (38..=58).contains(&blocks),
        "inuse_objects of hold's 1 MiB blocks: {blocks}, 48 blocks"
    );

    // The leaf is the program's code, not jemalloc.
    let leaf_names: Vec<String> = heap
        .sample
        .iter()
        .filter_map(|s| s.location_id.first())
        .flat_map(|&id| heap.location[id as usize - 1].line.first())
        .map(|l| name(&heap, heap.function[l.function_id as usize - 1].name))
        .collect();
    assert!(
        !leaf_names
            .iter()
            .any(|n| n.contains("jemalloc") || n.starts_with("prof_") || n.starts_with("_rjem")),
        "{leaf_names:?}"
    );

    let allocs = get(addr, "/debug/pprof/allocs");
    assert_eq!(allocs.status, 200, "{}", allocs.text());
    let allocs = decode(&allocs.body);
    assert_eq!(name(&allocs, allocs.default_sample_type), "alloc_space");
    assert_eq!(allocs.sample_type.len(), 4);

    let debug = get(addr, "/debug/pprof/heap?debug=1");
    assert_eq!(debug.status, 400, "{}", debug.text());
    assert!(debug.text().contains("debug"), "{}", debug.text());
    drop(kept);
}
