//! Day 085, the block profile: the lab.
//!
//! The Go seed's pipeline, in threads: a producer fills a work channel with
//! room for two items, worker threads transform each item and hand it over
//! a rendezvous channel (capacity 0) to a consumer that writes to a slow
//! sink. The pipeline is slow although the CPU is idle; the CPU profile
//! cannot say why. The block profile can: it records where threads wait.
//!
//! Run it (`cargo run -p lab-085`) and read both profiles it writes. Then
//! make the block profile tell you where the time goes, and self-check with
//! `cargo test -p lab-085`. The page is `book/day-085.md`.

use std::thread;
use std::time::Duration;

use labkit::Error;
use labkit::capture::Capture;
use labkit::contention::{self, Receiver, Sender, bounded};
use labkit::work::burn;
use workbook::days::day085::Flags;

// ANCHOR: shape
/// Room in the work channel: two items, as in the Go seed.
const WORK_BUFFER: usize = 2;
/// The result channel is a rendezvous: a send waits for a receive.
const RESULT_BUFFER: usize = 0;
/// CPU per item, in `labkit::work` units (~0.14 ms): small on purpose.
const TRANSFORM_UNITS: u64 = 1;
/// What the consumer's sink costs per item: it waits, it does not compute.
const SINK_DELAY: Duration = Duration::from_millis(2);
// ANCHOR_END: shape

fn main() -> Result<(), Error> {
    let (out_dir, flags) = workbook::this_day!().args::<Flags>();
    let (workers, items) = (flags.workers as usize, flags.items);

    // The channels below are labkit::contention's: they feed the block
    // profile that is written at the end.

    // ANCHOR: capture
    let capture = Capture::start()?;
    run_pipeline(workers, items);
    let cpu = capture.stop()?;
    // Both profiles, each with its flame graph: all four files replaced
    // together, or none of them.
    labkit::profile::save_all(&out_dir, &[&cpu, &contention::block_profile()])?;
    // ANCHOR_END: capture

    workbook::this_day!().report(&out_dir);
    Ok(())
}

// ANCHOR: pipeline
fn run_pipeline(workers: usize, items: u64) {
    let (work_tx, work_rx) = bounded::<u64>(WORK_BUFFER);
    let (result_tx, result_rx) = bounded::<u64>(RESULT_BUFFER);

    let producer = thread::Builder::new()
        .name("producer".into())
        .spawn(move || produce(&work_tx, items))
        .expect("spawn the producer");
    let pool: Vec<_> = (0..workers)
        .map(|i| {
            let (work, results) = (work_rx.clone(), result_tx.clone());
            thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || worker(&work, &results))
                .expect("spawn a worker")
        })
        .collect();
    drop((work_rx, result_tx));

    consume(&result_rx);
    producer.join().expect("the producer panicked");
    for w in pool {
        w.join().expect("a worker panicked");
    }
}

#[inline(never)]
fn produce(work: &Sender<u64>, items: u64) {
    for item in 0..items {
        // Waits whenever both slots of the work channel are taken.
        if work.send(item).is_err() {
            return;
        }
    }
}

#[inline(never)]
fn worker(work: &Receiver<u64>, results: &Sender<u64>) {
    for item in work {
        let value = transform(item);
        if !deliver(results, value) {
            return;
        }
    }
}

#[inline(never)]
fn transform(item: u64) -> u64 {
    burn(TRANSFORM_UNITS, item).rotate_left(3)
}

/// Hands one result to the consumer; waits until the consumer takes it.
#[inline(never)]
fn deliver(results: &Sender<u64>, value: u64) -> bool {
    results.send(value).is_ok()
}

#[inline(never)]
fn consume(results: &Receiver<u64>) {
    for value in results {
        // Stand-in for a slow sink: a disk, a database, a remote API.
        thread::sleep(SINK_DELAY);
        std::hint::black_box(value);
    }
}
// ANCHOR_END: pipeline
