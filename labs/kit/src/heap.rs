//! Heap profiles with dhat: keep the profiler for a scope, write its JSON
//! atomically, and read it back into a short, stable summary.
//!
//! dhat counts every allocation exactly, so unlike a sampled profile its
//! numbers can be asserted as they are: "400 blocks of 65 536 bytes".
//!
//! A program that uses it declares dhat's allocator once, in its binary:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: dhat::Alloc = dhat::Alloc;
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde_json::Value;

use crate::own::Own;

/// The file a [`HeapScope`] saves.
pub const HEAP_FILE: &str = "dhat-heap.json";

#[cfg(feature = "heap")]
mod scope;
#[cfg(feature = "heap")]
pub use scope::HeapScope;

/// One allocation site: where, and how much it allocated.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// The innermost frame of the workload's own crate, without the crate.
    pub function: String,
    pub total_bytes: u64,
    pub total_blocks: u64,
    /// Bytes still live from this site at the global peak (t-gmax).
    pub peak_bytes: u64,
}

/// A dhat heap profile, read back.
#[derive(Debug, Clone, PartialEq)]
pub struct HeapProfile {
    pub total_bytes: u64,
    pub total_blocks: u64,
    /// Bytes live at the global peak, t-gmax.
    pub peak_bytes: u64,
    /// Own allocation sites merged by function, largest total first.
    pub sites: Vec<Site>,
    /// The crates counted as own: the program dhat names (`cmd`), unless
    /// the reader named them.
    pub own: Own,
}

/// Reads a `dhat-heap.json` (at most [`crate::profile::MAX_BYTES`] of it).
pub fn load(path: &Path) -> Result<HeapProfile, String> {
    let bytes = crate::profile::read(path).map_err(|e| e.to_string())?;
    parse(path, &bytes)
}

/// Reads a dhat heap profile from its bytes; `path` only names the input in
/// errors. The program's own crate is the one dhat's `cmd` names.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<HeapProfile, String> {
    parse_with(path, bytes, None)
}

/// [`parse`], counting `own`'s crates as the program's own when given.
pub fn parse_with(path: &Path, bytes: &[u8], own: Option<&Own>) -> Result<HeapProfile, String> {
    let not_dhat = |why: &str| {
        format!(
            "{} is not a dhat heap profile (expected dhat's JSON, dhatFileVersion 2, mode \
             rust-heap): {why}",
            path.display()
        )
    };
    let json: Value = serde_json::from_slice(bytes).map_err(|e| not_dhat(&e.to_string()))?;
    if json.get("dhatFileVersion").and_then(Value::as_u64) != Some(2) {
        return Err(not_dhat("no dhatFileVersion 2"));
    }
    if json.get("mode").and_then(Value::as_str) != Some("rust-heap") {
        return Err(not_dhat("mode is not rust-heap"));
    }
    let ftbl: Vec<&str> = json
        .get("ftbl")
        .and_then(Value::as_array)
        .ok_or_else(|| not_dhat("no ftbl"))?
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str()
                .ok_or_else(|| not_dhat(&format!("ftbl[{i}] is not a string: {v}")))
        })
        .collect::<Result<_, _>>()?;
    let pps = json
        .get("pps")
        .and_then(Value::as_array)
        .ok_or_else(|| not_dhat("no pps"))?;
    // Every field a site must have, with its type: a file with fields
    // missing or a frame index past ftbl read as "own allocation sites:
    // none", rc 0.
    let num = |i: usize, pp: &Value, key: &str| {
        pp.get(key).and_then(Value::as_u64).ok_or_else(|| {
            not_dhat(&format!(
                "pps[{i}] has no {key:?} (a whole number ≥ 0): {}",
                pp.get(key).map_or("missing".to_string(), Value::to_string)
            ))
        })
    };
    let own = match own {
        Some(own) => own.clone(),
        None => {
            let names: Vec<&str> = ftbl.iter().filter_map(|f| function_name(f)).collect();
            Own::of(json.get("cmd").and_then(Value::as_str), names)
        }
    };
    let mut profile = HeapProfile {
        total_bytes: 0,
        total_blocks: 0,
        peak_bytes: 0,
        sites: Vec::new(),
        own,
    };
    let mut by_function: BTreeMap<String, Site> = BTreeMap::new();
    for (i, pp) in pps.iter().enumerate() {
        let (tb, tbk, gb) = (num(i, pp, "tb")?, num(i, pp, "tbk")?, num(i, pp, "gb")?);
        // Each site's sums are parts of these, so they cannot overflow once
        // these do not.
        let too_big = |what: &str| not_dhat(&format!("its {what} add up to more than 2^64"));
        profile.total_bytes =
            (profile.total_bytes.checked_add(tb)).ok_or_else(|| too_big("bytes (tb)"))?;
        profile.total_blocks =
            (profile.total_blocks.checked_add(tbk)).ok_or_else(|| too_big("blocks (tbk)"))?;
        profile.peak_bytes = (profile.peak_bytes.checked_add(gb))
            .ok_or_else(|| too_big("bytes at the peak (gb)"))?;
        let frames = pp
            .get("fs")
            .and_then(Value::as_array)
            .ok_or_else(|| not_dhat(&format!("pps[{i}] has no \"fs\" (its frames)")))?;
        let mut own = None;
        for f in frames {
            let frame = f
                .as_u64()
                .and_then(|n| ftbl.get(usize::try_from(n).ok()?))
                .ok_or_else(|| {
                    not_dhat(&format!(
                        "pps[{i}] names frame {f}, but ftbl has {} entries (0 to {})",
                        ftbl.len(),
                        ftbl.len().saturating_sub(1)
                    ))
                })?;
            if own.is_none() {
                own = function_name(frame).and_then(|name| profile.own.name(name));
            }
        }
        let Some(function) = own else { continue };
        let site = by_function.entry(function.clone()).or_insert(Site {
            function,
            total_bytes: 0,
            total_blocks: 0,
            peak_bytes: 0,
        });
        site.total_bytes += tb;
        site.total_blocks += tbk;
        site.peak_bytes += gb;
    }
    profile.sites = by_function.into_values().collect();
    profile.sites.sort_by(|a, b| {
        b.total_bytes
            .cmp(&a.total_bytes)
            .then_with(|| a.function.cmp(&b.function))
    });
    Ok(profile)
}

/// `0x55…: my_crate::handle_order (src/main.rs:61:22)` →
/// `my_crate::handle_order`.
fn function_name(frame: &str) -> Option<&str> {
    let name = frame.split_once(": ")?.1;
    Some(name.rsplit_once(" (").map_or(name, |(n, _)| n))
}

impl fmt::Display for HeapProfile {
    /// The workload's own sites with their exact block counts, and bytes
    /// in MiB to one decimal: what is live at the peak can differ by a few
    /// bytes between runs (a worker caught mid-order), never by 0.1 MiB.
    /// Sites under 1 % of all bytes are left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "heap profile (dhat: every allocation, counted exactly)")?;
        let shown: Vec<&Site> = self
            .sites
            .iter()
            .filter(|s| u128::from(s.total_bytes) * 100 >= u128::from(self.total_bytes))
            .collect();
        if self.own.is_empty() {
            return writeln!(
                f,
                "own allocation sites: unknown: the profile names no program and shows no \
                 `main`; name your crates with --own CRATE"
            );
        }
        if shown.is_empty() {
            return writeln!(f, "own allocation sites: none");
        }
        writeln!(f, "own allocation sites, by bytes allocated:")?;
        for s in shown {
            writeln!(
                f,
                "  {:<14} {} blocks, {} allocated in all, {} live at the peak (t-gmax)",
                s.function,
                s.total_blocks,
                mib(s.total_bytes),
                mib(s.peak_bytes)
            )?;
        }
        Ok(())
    }
}

/// Bytes as MiB with one decimal: `26214400` → `25.0 MiB`.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// `1234567` → `1 234 567`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}
