//! Day 092, cores and pools: the lab.
//!
//! A tokio service with two worker threads (one per core here) runs a
//! heartbeat every 10 ms — the stand-in for every small, latency-sensitive
//! task a service has — while a batch of CPU-heavy jobs (hashing uploads)
//! arrives. The heartbeat records how late each tick was.
//!
//! Run it (`cargo run -p lab-092`) and read how late the heartbeat was.
//! Fix it, then self-check with `cargo test -p lab-092`. The page is
//! `book/day-092.md`.

use std::time::{Duration, Instant};

use labkit::Error;
use labkit::work::burn_cpu;
use tokio::sync::oneshot;
use workbook::days::day092::{self, HASH_CPU, JOBS, TICK};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    let out_dir = workbook::this_day!().out_dir();

    let (stop, stopped) = oneshot::channel();
    let heartbeat = tokio::spawn(heartbeat(stopped));
    // Let the heartbeat settle before the batch arrives.
    tokio::time::sleep(Duration::from_millis(50)).await;

    // ANCHOR: jobs
    let mut jobs = Vec::new();
    for upload in 0..JOBS {
        jobs.push(tokio::spawn(async move { hash_upload(upload) }));
    }
    // ANCHOR_END: jobs
    let mut job_times = Vec::new();
    for job in jobs {
        job_times.push(job.await.expect("a hashing job panicked"));
    }

    let _ = stop.send(());
    let lateness = heartbeat.await.expect("the heartbeat panicked");
    day092::save(&out_dir, &lateness, &job_times)?;
    workbook::this_day!().report(&out_dir);
    Ok(())
}

// ANCHOR: heartbeat
/// Ticks every 10 ms until stopped, and returns how late each tick was.
async fn heartbeat(mut stop: oneshot::Receiver<()>) -> Vec<Duration> {
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut last, mut lateness) = (None::<Instant>, Vec::new());
    loop {
        tokio::select! {
            _ = &mut stop => {
                // A tick that never came is the latest of all: count the
                // time since the last one, or a starved heartbeat would
                // report nothing.
                if let Some(previous) = last {
                    lateness.push(previous.elapsed().saturating_sub(TICK));
                }
                return lateness;
            }
            _ = interval.tick() => {
                let now = Instant::now();
                if let Some(previous) = last {
                    lateness.push((now - previous).saturating_sub(TICK));
                }
                last = Some(now);
            }
        }
    }
}
// ANCHOR_END: heartbeat

// ANCHOR: hash
/// Hashes one upload: pure CPU, 0.1 s of it, with no `.await` inside.
/// Returns how long it took: the heartbeat's lateness is judged against
/// it, so a busy machine, which slows both, does not change the verdict.
#[inline(never)]
fn hash_upload(upload: u64) -> Duration {
    let started = Instant::now();
    std::hint::black_box(burn_cpu(HASH_CPU, upload));
    started.elapsed()
}
// ANCHOR_END: hash
