//! Day 086, the mutex profile: the fixed program.
//!
//! Worker threads take items from a queue and record each result in
//! statistics they share under one lock; each result also goes to an audit
//! log under a second lock. The pool is slow, and adding workers does not
//! help. The mutex profile says which lock, and which code holding it,
//! makes the others wait.
//!
//! In the lab, `record_result` renders the report line while holding the
//! statistics lock, so every other worker waits 2 ms for each item. Here
//! the slow work runs outside any lock, and the statistics are sharded:
//! each worker counts its own, and the counts are summed when the workers
//! finish. The only lock left is the audit log's.

use std::thread;
use std::time::{Duration, Instant};

use labkit::Error;
use labkit::contention::{self, Mutex, Receiver, bounded};
use workbook::days::day086::{self, Flags};

// ANCHOR: shape
/// Rendering one report line: formatting plus a write to slow storage.
const RENDER_TIME: Duration = Duration::from_millis(2);
/// Appending to the audit log: short, but every item does it.
const AUDIT_TIME: Duration = Duration::from_micros(200);

/// The statistics every worker keeps.
#[derive(Default)]
struct Stats {
    processed: u64,
    bytes: u64,
}

impl Stats {
    fn merged(self, other: Stats) -> Stats {
        Stats {
            processed: self.processed + other.processed,
            bytes: self.bytes + other.bytes,
        }
    }
}
// ANCHOR_END: shape

fn main() -> Result<(), Error> {
    let (out_dir, flags) = workbook::this_day!().args::<Flags>();
    let (workers, items) = (flags.workers as usize, flags.items);

    // Every contended release, recorded: fine for a lab (see Day 085).
    contention::set_mutex_profile_fraction(1)?;
    let started = Instant::now();
    let stats = run_pool(workers, items);
    let elapsed = started.elapsed();
    assert_eq!(stats.processed, items, "every item is recorded once");

    contention::mutex_profile().save(&out_dir)?;
    day086::save_run(&out_dir, workers, elapsed)?;
    workbook::this_day!().report(&out_dir);
    Ok(())
}

// ANCHOR: pool
fn run_pool(workers: usize, items: u64) -> Stats {
    let audit = Mutex::new(Vec::<u64>::new());
    let (queue, jobs) = bounded::<u64>(items as usize);
    for item in 0..items {
        queue.send(item).expect("the queue has room for every item");
    }
    drop(queue);
    thread::scope(|s| {
        let pool: Vec<_> = (0..workers)
            .map(|i| {
                let (audit, jobs) = (&audit, jobs.clone());
                thread::Builder::new()
                    .name(format!("worker-{i}"))
                    .spawn_scoped(s, move || worker(&jobs, audit))
                    .expect("spawn a worker")
            })
            .collect();
        pool.into_iter()
            .map(|w| w.join().expect("a worker panicked"))
            .fold(Stats::default(), Stats::merged)
    })
}

#[inline(never)]
fn worker(jobs: &Receiver<u64>, audit: &Mutex<Vec<u64>>) -> Stats {
    // This worker's own counts: no other thread touches them, so no lock.
    let mut stats = Stats::default();
    for item in jobs {
        let bytes = record_result(&mut stats, item);
        append_audit(audit, item ^ bytes);
    }
    stats
}
// ANCHOR_END: pool

// ANCHOR: record
/// Renders the item's report line and counts it in this worker's
/// statistics.
#[inline(never)]
fn record_result(stats: &mut Stats, item: u64) -> u64 {
    let line = render_report(item);
    stats.processed += 1;
    stats.bytes += line.len() as u64;
    line.len() as u64
}
// ANCHOR_END: record

#[inline(never)]
fn render_report(item: u64) -> String {
    // Stand-in for formatting and writing to slow storage.
    thread::sleep(RENDER_TIME);
    format!("item {item}: ok\n")
}

#[inline(never)]
fn append_audit(audit: &Mutex<Vec<u64>>, entry: u64) {
    let mut log = audit.lock();
    // Stand-in for an append and fsync that must stay in order.
    thread::sleep(AUDIT_TIME);
    log.push(entry);
}
