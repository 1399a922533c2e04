//! Day 084, heap profiles: dhat must record the whole order run, and its
//! profile must show the receipts' scratch buffers, exactly.

use std::fmt;
use std::path::Path;

use crate::verdict::Failure;
use labkit::heap::{self, HEAP_FILE, HeapProfile};

pub const DAY: &str = crate::registry::module_day(module_path!());

/// The workload's exact shape: 400 orders, one 64 KiB scratch buffer each.
pub const ORDERS: u64 = 400;
pub const SCRATCH_BYTES: u64 = 64 * 1024;

/// What the day's run shows.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub heap: HeapProfile,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.heap)?;
        let live = 100.0 * self.heap.peak_bytes as f64 / self.heap.total_bytes.max(1) as f64;
        writeln!(
            f,
            "whole program: live at the peak (t-gmax) / allocated in all: {}",
            labkit::summary::band(live).unwrap_or("under 3%")
        )
    }
}

/// Reads `dir/dhat-heap.json` and checks it.
pub fn check(dir: &Path) -> Result<Outcome, Failure> {
    let fail = |symptom: String, hint: &'static str| Failure {
        day: DAY,
        symptom,
        hint,
    };
    let heap = heap::load(&dir.join(HEAP_FILE)).map_err(|e| {
        fail(
            format!("the heap profile cannot be read: {e}"),
            "run the program again and read what it printed when it stopped",
        )
    })?;
    let receipts = heap.sites.iter().find(|s| s.function == "build_receipt");
    let Some(receipts) = receipts else {
        return Err(fail(
            format!(
                "heap profile holds no allocation from build_receipt ({} blocks in all): the \
                 heap profiler was dropped before the orders were processed",
                heap.total_blocks
            ),
            "`let _ = HeapScope::start(…)` drops the profiler, and writes its file, on that \
             line; bind it to a name so it lives to the end of the block",
        ));
    };
    // Every receipt keeps its scratch buffer, so all of them are live at
    // the peak; a worker caught mid-order may add a few bytes more.
    let scratch = ORDERS * SCRATCH_BYTES;
    if !(scratch..scratch + SCRATCH_BYTES).contains(&receipts.peak_bytes) {
        return Err(fail(
            format!(
                "build_receipt had {} bytes live at the peak; the day's workload keeps \
                 {ORDERS} scratch buffers of {SCRATCH_BYTES} bytes ({} bytes)",
                heap::group(receipts.peak_bytes),
                heap::group(scratch)
            ),
            "keep the workload as shipped: 400 orders, 64 KiB of scratch each",
        ));
    }
    Ok(Outcome { heap })
}

/// Checks what a run wrote into `dir` and prints the closing lines.
pub fn report(dir: &Path) {
    crate::verdict::report(&[dir.join(HEAP_FILE)], &check(dir));
}
