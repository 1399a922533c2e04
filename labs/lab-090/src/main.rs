//! Day 090, execution traces: the lab.
//!
//! The Go seed's pipeline once more — a producer, a work channel with room
//! for two items, two workers, a rendezvous channel and a consumer that
//! writes to a slow sink — with a tracing span around each stage's work.
//! tracing-chrome records every span, on every thread, with its start and
//! end; the trace shows what a profile cannot: *when* each thread worked,
//! and who waited for whom.
//!
//! Run it (`cargo run -p lab-090`) and open `lab-out/090/trace.json` in
//! <https://ui.perfetto.dev>. Fix what you find, then self-check with
//! `cargo test -p lab-090`. The page is `book/day-090.md`.

use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded};
use labkit::Error;
use labkit::trace::TraceScope;
use tracing::info_span;

// ANCHOR: shape
const ITEMS: u64 = 200;
const WORKERS: usize = 2;
/// What one item costs each stage. The stages wait on I/O rather than
/// compute, so the trace's timings hold on a busy machine too.
const WORK_TIME: Duration = Duration::from_micros(800);
const SINK_TIME: Duration = Duration::from_millis(2);
// ANCHOR_END: shape

fn main() -> Result<(), Error> {
    let out_dir = workbook::this_day!().out_dir();

    // ANCHOR: scope
    {
        // Every span from here to the end of the block goes to trace.json;
        // the file is finished when the scope is dropped.
        let _ = TraceScope::start(&out_dir)?;
        run_pipeline();
    }
    // ANCHOR_END: scope

    workbook::this_day!().report(&out_dir);
    Ok(())
}

fn run_pipeline() {
    let (work_tx, work_rx) = bounded::<u64>(2);
    let (done_tx, done_rx) = bounded::<u64>(0);
    let producer = thread::Builder::new()
        .name("producer".into())
        .spawn(move || produce(&work_tx))
        .expect("spawn the producer");
    let pool: Vec<_> = (0..WORKERS)
        .map(|i| {
            let (work, done) = (work_rx.clone(), done_tx.clone());
            thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || worker(&work, &done))
                .expect("spawn a worker")
        })
        .collect();
    drop((work_rx, done_tx));
    let consumer = thread::Builder::new()
        .name("consumer".into())
        .spawn(move || consume(&done_rx))
        .expect("spawn the consumer");
    producer.join().expect("the producer panicked");
    for w in pool {
        w.join().expect("a worker panicked");
    }
    consumer.join().expect("the consumer panicked");
}

// ANCHOR: stages
fn produce(work: &Sender<u64>) {
    for item in 0..ITEMS {
        let value = info_span!("produce", item).in_scope(|| item * 7);
        // The send waits whenever both slots are taken: outside the span,
        // so the trace shows the producer idle while it waits.
        if work.send(value).is_err() {
            return;
        }
    }
}

fn worker(work: &Receiver<u64>, done: &Sender<u64>) {
    for value in work {
        let result = info_span!("work", value).in_scope(|| {
            thread::sleep(WORK_TIME); // stand-in for a call to another service
            value + 1
        });
        if done.send(result).is_err() {
            return;
        }
    }
}

fn consume(done: &Receiver<u64>) {
    for result in done {
        info_span!("consume", result).in_scope(|| {
            thread::sleep(SINK_TIME); // stand-in for a slow write
        });
    }
}
// ANCHOR_END: stages
