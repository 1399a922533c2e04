//! Day 083, profiling concurrent code: the lab.
//!
//! A worker pool in the shape of a small Go service: a producer feeds a
//! bounded channel, two named worker threads checksum and encode each job,
//! and a slow consumer (the main thread) stores every result. The whole run
//! is CPU-profiled and the profile is written as `cpu.pb.gz` and `cpu.svg`.
//!
//! Run it (`cargo run -p lab-083`), then read the profile it wrote with
//! `go tool pprof -top lab-out/083/cpu.pb.gz`. Something is wrong with that
//! file; the program says what when it stops. Fix it here, then run the
//! self-check: `cargo test -p lab-083`. The page is `book/day-083.md`.

use std::fs::File;
use std::io::BufWriter;
use std::process;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded};
use labkit::Error;
use labkit::capture::{Capture, FLAME_FILE, PPROF_FILE, until_sampled};
use labkit::work::burn;

// ANCHOR: shape
/// Jobs in one run, at the least: the producer goes on until the profile
/// holds `SAMPLES` samples (Day 081), however fast the machine.
const JOBS: u64 = 120;
const SAMPLES: u64 = 400;
/// Worker threads: one per core of the 2-core machine the day was written on.
const WORKERS: usize = 2;
/// Work per job, in `labkit::work` units: a 4:1 split between
/// the two stages, wide enough that the profile's ranking never flips.
const CHECKSUM_UNITS: u64 = 80;
const ENCODE_UNITS: u64 = 20;
/// The consumer's cost per result: it waits on a slow sink, it does not burn
/// CPU, so it barely shows in a CPU profile although it paces the pipeline.
const SINK_DELAY: Duration = Duration::from_micros(500);
/// Room for a few jobs in each channel: enough to keep workers busy, small
/// enough that a slow stage pushes back on the one before it.
const CHANNEL_CAPACITY: usize = 4;
// ANCHOR_END: shape

struct Job {
    id: u64,
    seed: u64,
}

struct Done {
    id: u64,
    digest: u64,
}

fn main() -> Result<(), Error> {
    let out_dir = workbook::this_day!().out_dir();

    // ANCHOR: profile
    let capture = Capture::start()?;
    let failed = run_pipeline();
    let profile = capture.stop()?;
    // ANCHOR_END: profile

    // ANCHOR: write
    let path = out_dir.join(PPROF_FILE);
    let file = File::create(&path)
        .map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
    // A big buffer, so the profile goes to disk in one write instead of many.
    let mut out = BufWriter::with_capacity(64 * 1024, file);
    profile
        .write_pprof(&mut out)
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    profile.save_flame_graph(&out_dir.join(FLAME_FILE))?;
    // ANCHOR_END: write

    workbook::this_day!().report(&out_dir);
    // ANCHOR: exit
    // A worker-pool program reports failure through its exit code.
    // `process::exit` ends the process at once: no destructor runs after it.
    process::exit(if failed == 0 { 0 } else { 1 });
    // ANCHOR_END: exit
}

// ANCHOR: pipeline
/// Runs producer → workers → consumer and returns how many jobs failed.
fn run_pipeline() -> u64 {
    let (job_tx, job_rx) = bounded::<Job>(CHANNEL_CAPACITY);
    let (done_tx, done_rx) = bounded::<Done>(CHANNEL_CAPACITY);

    let producer = thread::Builder::new()
        .name("producer".into())
        .spawn(move || produce(job_tx))
        .expect("spawn the producer");
    let workers: Vec<_> = (0..WORKERS)
        .map(|i| {
            let (jobs, done) = (job_rx.clone(), done_tx.clone());
            // A name per thread: the profile labels each sample with it.
            thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || worker(jobs, done))
                .expect("spawn a worker")
        })
        .collect();
    // Drop our copies, so the channels close when the last user is done.
    drop((job_rx, done_tx));

    let failed = consume(done_rx);
    producer.join().expect("the producer panicked");
    for w in workers {
        w.join().expect("a worker panicked");
    }
    failed
}
// ANCHOR_END: pipeline

fn produce(jobs: Sender<Job>) {
    for id in until_sampled(JOBS, SAMPLES) {
        let seed = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        if jobs.send(Job { id, seed }).is_err() {
            return; // every worker has gone: nothing left to feed
        }
    }
}

// ANCHOR: worker
// `#[inline(never)]` keeps each stage a frame of its own in release builds
// too; an inlined function leaves no trace in a stack, and a profile that
// cannot name `checksum` cannot tell you it is the hot spot.
#[inline(never)]
fn worker(jobs: Receiver<Job>, done: Sender<Done>) {
    for job in jobs {
        let digest = encode(checksum(job.seed), job.id);
        if done.send(Done { id: job.id, digest }).is_err() {
            return;
        }
    }
}

#[inline(never)]
fn checksum(seed: u64) -> u64 {
    // Work after the call keeps it from becoming a tail call, which would
    // also erase this frame in an optimised build.
    burn(CHECKSUM_UNITS, seed).rotate_left(7)
}

#[inline(never)]
fn encode(digest: u64, id: u64) -> u64 {
    burn(ENCODE_UNITS, digest ^ id).rotate_left(11)
}
// ANCHOR_END: worker

#[inline(never)]
fn consume(done: Receiver<Done>) -> u64 {
    let mut failed = 0;
    for result in done {
        // Stand-in for a slow store: a database, a disk, a remote API.
        thread::sleep(SINK_DELAY);
        if result.digest == 0 {
            failed += 1;
            eprintln!("job {} produced an empty digest", result.id);
        }
    }
    failed
}
