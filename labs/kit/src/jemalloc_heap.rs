//! jemalloc's heap dump, read into Go's heap profile: four sample types
//! (`alloc_objects`, `alloc_space`, `inuse_objects`, `inuse_space`, in
//! Go's order), sampled once per 512 KiB allocated on average (Go's
//! `runtime.MemProfileRate`, jemalloc's `lg_prof_sample:19`), each
//! sample's counts scaled up to what they stand for.
//!
//! jemalloc writes a dump as text (`prof.dump`, jemalloc 5.3
//! `src/prof_data.c`): a `heap_v2/RATE` header, then per stack
//! `@ 0x… 0x…` and `  t*: CUROBJS: CURBYTES [ACCUMOBJS: ACCUMBYTES]`
//! (accumulated counts only with `prof_accum:true`; per-thread `tN:` lines
//! follow, unused here), then `MAPPED_LIBRARIES:`. jemalloc 5.3 writes its
//! counts "fudged" (`opt.prof_unbias`) so that the scaling jeprof applies,
//! `1 / (1 - e^(-average size / rate))`, gives the unbiased figure; it is
//! the scaling Go applies to its own samples (`scaleHeapSample`,
//! `runtime/pprof/protomem.go`).

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use prost::Message;

use crate::proto;
use crate::stacks;

/// One stack of the dump with its raw counts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Site {
    /// Return addresses, innermost first.
    pub addrs: Vec<usize>,
    pub inuse: (u64, u64),
    pub alloc: (u64, u64),
}

/// A dump, read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Dump {
    /// Bytes between samples on average.
    pub rate: u64,
    pub sites: Vec<Site>,
}

/// Reads a dump's text. `what` names it in errors.
pub(crate) fn parse(text: &str, what: &str) -> Result<Dump, String> {
    let bad = |line: usize, why: &str| format!("{what}, line {}: {why}", line + 1);
    let mut lines = text.lines().enumerate();
    let (_, first) = lines
        .next()
        .ok_or_else(|| format!("{what} is empty (expected jemalloc's heap_v2 dump)"))?;
    let rate: u64 = first
        .strip_prefix("heap_v2/")
        .and_then(|r| r.trim().parse().ok())
        .filter(|&r| r > 0)
        .ok_or_else(|| bad(0, "expected `heap_v2/RATE`, RATE a whole number of bytes"))?;
    let mut sites = Vec::new();
    let mut stack: Option<Vec<usize>> = None;
    for (n, line) in lines {
        let line = line.trim();
        if line.starts_with("MAPPED_LIBRARIES") {
            break;
        }
        if let Some(addrs) = line.strip_prefix('@') {
            let addrs = addrs
                .split_ascii_whitespace()
                .map(|a| usize::from_str_radix(a.trim_start_matches("0x"), 16))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| bad(n, "a stack address is not hexadecimal"))?;
            stack = Some(addrs);
        } else if let Some(counts) = line.strip_prefix("t*:") {
            // The first `t*:` line is the total of all stacks: no stack yet.
            let Some(addrs) = stack.take() else {
                continue;
            };
            let (inuse, alloc) = counts_of(counts).ok_or_else(|| {
                bad(
                    n,
                    "expected `t*: OBJECTS: BYTES [OBJECTS: BYTES]`, whole numbers",
                )
            })?;
            sites.push(Site {
                addrs,
                inuse,
                alloc,
            });
        }
    }
    if stack.is_some() {
        return Err(format!("{what} ends with a stack that has no counts"));
    }
    Ok(Dump { rate, sites })
}

/// ` 3: 1572864 [10: 5242880]` → ((3, 1572864), (10, 5242880)).
fn counts_of(text: &str) -> Option<((u64, u64), (u64, u64))> {
    let (inuse, alloc) = text.split_once('[')?;
    let pair = |s: &str| -> Option<(u64, u64)> {
        let (objs, bytes) = s.split_once(':')?;
        Some((objs.trim().parse().ok()?, bytes.trim().parse().ok()?))
    };
    Some((pair(inuse)?, pair(alloc.trim().strip_suffix(']')?)?))
}

/// Go's `scaleHeapSample`: a sample of `objects` allocations holding
/// `bytes` stands for `1 / (1 - e^(-average size / rate))` times as many.
pub(crate) fn scaled((objects, bytes): (u64, u64), rate: u64) -> (i64, i64) {
    if objects == 0 || bytes == 0 {
        return (0, 0);
    }
    let average = bytes as f64 / objects as f64;
    let scale = 1.0 / (1.0 - (-average / rate as f64).exp());
    (
        (objects as f64 * scale).round() as i64,
        (bytes as f64 * scale).round() as i64,
    )
}

/// The allocator's own frames at the leaf end of a heap sample: jemalloc,
/// its Rust wrapper, Rust's allocation shims and `alloc::alloc`, and the
/// raw buffer growth behind `Vec` and `String`. Go hides its runtime's
/// frames (`mallocgc`, `growslice`) the same way, so a sample starts at
/// the code that asked for memory.
fn is_allocator(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "_rjem_",
        "je_",
        "prof_",
        // jemalloc's own static functions keep their C names: the
        // allocation and reallocation paths a sample's stack starts in.
        "imalloc",
        "ialloc",
        "iralloc",
        "irallocx",
        "do_rallocx",
        "rallocx",
        "mallocx",
        "malloc_default",
        "arena_",
        "tcache_",
        "__rust_alloc",
        "__rust_realloc",
        "__rust_alloc_zeroed",
        "__rustc::",
        "<tikv_jemallocator::",
        "tikv_jemallocator::",
        "alloc::alloc::",
        "<alloc::alloc::Global",
        "alloc::raw_vec::",
        "<alloc::raw_vec::",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p)) || name.contains("jemalloc")
}

fn allocator_frames(names: &[&str]) -> usize {
    names.iter().take_while(|n| is_allocator(n)).count()
}

/// The dump as Go's heap profile, gzipped. `default_type` is Go's
/// `default_sample_type`: empty for `/heap` (pprof then shows the last
/// type, `inuse_space`), `alloc_space` for `/allocs`.
pub(crate) fn to_pprof(dump: &Dump, default_type: &str) -> Result<Vec<u8>, String> {
    let mut b = stacks::Builder::new();
    for site in &dump.sites {
        let (alloc_objects, alloc_space) = scaled(site.alloc, dump.rate);
        let (inuse_objects, inuse_space) = scaled(site.inuse, dump.rate);
        if alloc_objects == 0 && inuse_objects == 0 {
            continue;
        }
        let location_id = b.stack(&site.addrs, &allocator_frames);
        // Go labels each sample with its block size.
        let (objects, bytes) = if site.alloc.0 > 0 {
            site.alloc
        } else {
            site.inuse
        };
        let mut label = Vec::new();
        if let Some(size) = bytes.checked_div(objects) {
            label.push(proto::Label {
                key: b.string("bytes"),
                num: size as i64,
                ..Default::default()
            });
        }
        b.samples.push(proto::Sample {
            location_id,
            value: vec![alloc_objects, alloc_space, inuse_objects, inuse_space],
            label,
        });
    }
    let sample_type = vec![
        b.value_type("alloc_objects", "count"),
        b.value_type("alloc_space", "bytes"),
        b.value_type("inuse_objects", "count"),
        b.value_type("inuse_space", "bytes"),
    ];
    let period_type = Some(b.value_type("space", "bytes"));
    let default_sample_type = if default_type.is_empty() {
        0
    } else {
        b.string(default_type)
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let profile = proto::Profile {
        sample_type,
        period_type,
        period: dump.rate as i64,
        default_sample_type,
        time_nanos: i64::try_from(now.as_nanos()).unwrap_or(i64::MAX),
        ..b.finish()
    };
    stacks::release_symbols();
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&profile.encode_to_vec())
        .and_then(|()| gz.finish())
        .map_err(|e| format!("cannot compress the heap profile: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "\
heap_v2/524288
  t*: 4: 2621440 [12: 7340032]
  t0: 4: 2621440 [12: 7340032]
@ 0x10 0x20 0x30
  t*: 3: 1572864 [10: 5242880]
  t0: 3: 1572864 [10: 5242880]
@ 0x40
  t*: 1: 48 [2: 96]

MAPPED_LIBRARIES:
55d0c8a01000-55d0c8b00000 r-xp 00001000 fd:01 42 /srv/bin/order-service
";

    #[test]
    fn stacks_and_all_four_counts_are_read() {
        let dump = parse(DUMP, "test dump").unwrap();
        assert_eq!(dump.rate, 524288);
        assert_eq!(
            dump.sites,
            vec![
                Site {
                    addrs: vec![0x10, 0x20, 0x30],
                    inuse: (3, 1572864),
                    alloc: (10, 5242880)
                },
                Site {
                    addrs: vec![0x40],
                    inuse: (1, 48),
                    alloc: (2, 96)
                },
            ]
        );
    }

    #[test]
    fn samples_are_scaled_as_go_scales_them() {
        // 512 KiB blocks at a 512 KiB rate: each sample stands for
        // 1 / (1 - 1/e) ≈ 1.582 of them.
        assert_eq!(scaled((10, 5242880), 524288), (16, 8294114));
        // Tiny blocks: one sampled 48-byte block stands for ~10 923.
        let (objects, bytes) = scaled((1, 48), 524288);
        assert!((10_900..=10_950).contains(&objects), "{objects}");
        assert!((524_000..=525_000).contains(&bytes), "{bytes}");
        assert_eq!(scaled((0, 0), 524288), (0, 0));
    }

    #[test]
    fn malformed_dumps_are_refused_with_the_line() {
        let e = parse("heap_v1/abc\n", "d").unwrap_err();
        assert!(e.contains("line 1") && e.contains("heap_v2/RATE"), "{e}");
        let e = parse("heap_v2/524288\n@ 0xzz\n", "d").unwrap_err();
        assert!(e.contains("line 2") && e.contains("hexadecimal"), "{e}");
        let e = parse("heap_v2/524288\n@ 0x10\n  t*: 1: 2\n", "d").unwrap_err();
        assert!(e.contains("line 3"), "{e}");
        let e = parse("heap_v2/524288\n@ 0x10\n", "d").unwrap_err();
        assert!(e.contains("no counts"), "{e}");
        assert!(parse("", "d").unwrap_err().contains("empty"));
    }

    #[test]
    fn allocator_frames_are_hidden_from_the_leaf_only() {
        let names = [
            "prof_backtrace_impl",
            "_rjem_je_prof_tctx_create",
            "_rjem_malloc",
            "<tikv_jemallocator::Jemalloc as core::alloc::global::GlobalAlloc>::alloc",
            "__rustc::__rust_alloc",
            "alloc::alloc::alloc",
            "alloc::raw_vec::RawVecInner<A>::try_allocate_in",
            "alloc::vec::Vec<T>::with_capacity",
            "order_service::handle",
            "alloc::alloc::alloc",
        ];
        assert_eq!(allocator_frames(&names), 7);
    }

    /// A `Vec` that grows reallocates: the sample starts in jemalloc's
    /// `irallocx_prof` (inlined into `do_rallocx`), which a page once
    /// showed on top with 70 % of alloc_space.
    #[test]
    fn the_reallocation_path_is_hidden_too() {
        let names = [
            "prof_backtrace_impl",
            "irallocx_prof",
            "do_rallocx",
            "_rjem_rallocx",
            "__rustc::__rust_realloc",
            "alloc::raw_vec::finish_grow",
            "alloc::vec::Vec<T,A>::push",
            "order_service::handle",
        ];
        assert_eq!(allocator_frames(&names), 6);
    }
}
