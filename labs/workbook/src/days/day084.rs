//! Day 084, heap profiles: the receipts must be as large as their text.
//! dhat counts exactly, and the same run writes the receipts' text to
//! `receipts.txt`: that file's size is the yardstick, so the check needs
//! no constant for "how much memory is too much".

use std::fmt;
use std::path::Path;

use crate::verdict::Failure;
use labkit::heap::{self, HEAP_FILE, HeapProfile};

pub const DAY: &str = crate::registry::module_day(module_path!());
/// What the lab as shipped fails with, from its registry entry.
const SYMPTOM: &str = crate::registry::symptom(DAY);
/// The question a red self-check asks: where to look, never the fix.
const FIRST_HINT: &str = crate::registry::first_hint(DAY);

/// The file the day's program writes its receipts to, after the profile.
pub const RECEIPTS_FILE: &str = "receipts.txt";

/// The workload's exact shape: 400 orders, one 64 KiB scratch buffer each.
pub const ORDERS: u64 = 400;
pub const SCRATCH_BYTES: u64 = 64 * 1024;

/// Receipts may hold up to this many times the bytes of their text before
/// the check calls it retention. A receipt that keeps its scratch buffer
/// holds about 64 times its text; one sized to its text, exactly once.
pub const MAX_LIVE_PER_TEXT_BYTE: u64 = 2;

/// What the day's run shows.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub heap: HeapProfile,
    /// Bytes of `build_receipt` still live at the global peak (t-gmax).
    pub receipts_live: u64,
    /// Bytes of receipt text, as written to `receipts.txt` in the same run.
    pub text_bytes: u64,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.heap)?;
        writeln!(
            f,
            "receipts live at the peak: {} bytes, for {} bytes of text in {RECEIPTS_FILE} ({})",
            heap::group(self.receipts_live),
            heap::group(self.text_bytes),
            times(self.receipts_live, self.text_bytes)
        )
    }
}

/// `26214400, 405600` → `64.6×`.
fn times(live: u64, text: u64) -> String {
    format!("{:.1}×", live as f64 / text.max(1) as f64)
}

/// Reads `dir/dhat-heap.json` and `dir/receipts.txt` and checks them.
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
    let text_bytes = std::fs::metadata(dir.join(RECEIPTS_FILE))
        .map_err(|e| {
            fail(
                format!(
                    "the receipts' text cannot be read from {}: {e}",
                    dir.join(RECEIPTS_FILE).display()
                ),
                "keep the program writing the receipts after the heap scope: their size is \
                 what the check compares the heap with",
            )
        })?
        .len();
    let receipts = heap.sites.iter().find(|s| s.function == "build_receipt");
    let Some(receipts) = receipts else {
        return Err(fail(
            format!(
                "heap profile holds no allocation from build_receipt ({} blocks in all): the \
                 heap profiler was dropped before the orders were processed",
                heap.total_blocks
            ),
            "bind the HeapScope to a name (`let _heap = …`) so it lives to the end of the \
             block, and keep build_receipt as the function that allocates the receipts",
        ));
    };
    // All the orders went through build_receipt, each with its scratch
    // buffer: the profile must have seen the whole run.
    if receipts.total_blocks < ORDERS || receipts.total_bytes < ORDERS * SCRATCH_BYTES {
        return Err(fail(
            format!(
                "build_receipt allocated {} blocks, {} bytes: the day's workload builds \
                 {ORDERS} receipts in scratch buffers of {SCRATCH_BYTES} bytes",
                receipts.total_blocks,
                heap::group(receipts.total_bytes)
            ),
            "keep the workload as shipped (400 orders, 64 KiB of scratch each) and change only \
             what the receipt keeps",
        ));
    }
    if receipts.peak_bytes > MAX_LIVE_PER_TEXT_BYTE * text_bytes {
        return Err(fail(
            format!(
                "build_receipt has {} bytes live at the peak for {} bytes of receipt text \
                 ({RECEIPTS_FILE}), {} {SYMPTOM}",
                heap::group(receipts.peak_bytes),
                heap::group(text_bytes),
                times(receipts.peak_bytes, text_bytes)
            ),
            FIRST_HINT,
        ));
    }
    Ok(Outcome {
        receipts_live: receipts.peak_bytes,
        text_bytes,
        heap,
    })
}

/// Checks what a run wrote into `dir` and prints the closing lines.
pub fn report(dir: &Path) {
    crate::verdict::report(&[dir.join(HEAP_FILE), dir.join(RECEIPTS_FILE)], &check(dir));
}
