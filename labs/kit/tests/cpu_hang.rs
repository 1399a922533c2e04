//! Can the CPU profiler hang the program it profiles?
//!
//! The CPU profiler walks the stack from inside a signal handler, at
//! whatever instruction the signal happened to interrupt. If the program
//! was holding a lock there that the walk needs too (inside `malloc`, or
//! inside the unwinder itself), the thread waits for itself forever. Which
//! libraries are too dangerous to walk out of is decided in
//! `labkit::capture::BLOCKLIST`; this test tries hard to catch it out.
//!
//! Each of [`RUNS`] short runs profiles [`THREADS`] threads at full rate
//! while they allocate and free buffers of every size, fight over a
//! `labkit::contention::Mutex` with the block and mutex profiles on (every
//! contended lock walks the stack with the same unwinder), and now and then
//! panic and catch the panic (which unwinds with it too). A watchdog aborts
//! the process with a message if a run takes more than [`DEADLINE`]: a hang
//! is a failure you would otherwise wait for forever.
//!
//! It takes about a minute, so it is left out of a plain `cargo test`. Run
//! it with
//!
//! ```text
//! cargo test -p labkit --release --test cpu_hang -- --ignored --nocapture
//! ```
//!
//! (and without `--release` too: a debug build spends its time in
//! different places).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use labkit::capture::Capture;
use labkit::contention::{self, Mutex};

const RUNS: u64 = 200;
const RUN_LENGTH: Duration = Duration::from_millis(100);
const THREADS: u64 = 4;
/// A run should take a fraction of a second; this is a hang.
const DEADLINE: Duration = Duration::from_secs(30);

/// The panic message of the panics the workers throw and catch on purpose.
const EXPECTED_PANIC: &str = "a panic thrown to exercise the unwinder";

fn xorshift(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

/// Allocates, frees, locks and panics until `until`; returns the number of
/// rounds it did.
#[inline(never)]
fn churn(shared: &Mutex<Vec<Vec<u8>>>, seed: u64, until: Instant) -> u64 {
    let mut rng = seed | 1;
    let mut kept: Vec<Vec<u8>> = Vec::new();
    let mut rounds = 0;
    while Instant::now() < until {
        rng = xorshift(rng);
        // 16 B to 64 KiB: small sizes come from malloc's per-thread caches,
        // middle ones from its shared arenas (and their locks), the largest
        // from mmap.
        let size = 16usize << (rng % 13);
        let buffer = vec![rng as u8; size];
        if rng.is_multiple_of(4) {
            kept.push(buffer);
            if kept.len() > 64 {
                kept.drain(..32);
            }
        } else {
            black_box(buffer);
        }
        if rng.is_multiple_of(8) {
            // Every thread wants this lock: contended acquisitions and
            // releases record their stacks.
            let mut guard = shared.lock();
            guard.push(vec![0u8; 256]);
            if guard.len() > 256 {
                guard.clear();
            }
        }
        if rng.is_multiple_of(64) {
            let _ = std::panic::catch_unwind(|| panic!("{EXPECTED_PANIC}"));
        }
        rounds += 1;
    }
    rounds
}

/// Milliseconds since `BASE` at which the current run started, or
/// `u64::MAX` between runs.
static RUN_STARTED_MS: AtomicU64 = AtomicU64::new(u64::MAX);
static RUN: AtomicU64 = AtomicU64::new(0);

fn start_watchdog(base: Instant) {
    std::thread::Builder::new()
        .name("watchdog".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(200));
                let started = RUN_STARTED_MS.load(Ordering::Relaxed);
                let now = base.elapsed().as_millis() as u64;
                if started != u64::MAX && now.saturating_sub(started) > DEADLINE.as_millis() as u64
                {
                    eprintln!(
                        "cpu_hang: run {} of {RUNS} has not finished after {} s: a thread is \
                         most likely stuck in the CPU profiler's signal handler. To see where, \
                         run the test again and, while it hangs, \
                         `gdb -p {} -batch -ex 'thread apply all bt'`. Aborting.",
                        RUN.load(Ordering::Relaxed),
                        DEADLINE.as_secs(),
                        std::process::id()
                    );
                    std::process::abort();
                }
            }
        })
        .unwrap();
}

#[test]
#[ignore = "a minute of stress; run with --ignored (see the top of this file)"]
fn profiling_allocating_locking_and_panicking_threads_never_hangs() {
    // The caught panics are on purpose: keep them off the terminal, but
    // let any other panic speak.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload_as_str() != Some(EXPECTED_PANIC) {
            default_hook(info);
        }
    }));
    contention::set_block_profile_rate(1).unwrap();
    contention::set_mutex_profile_fraction(1).unwrap();

    let base = Instant::now();
    start_watchdog(base);
    let shared = Mutex::new(Vec::new());
    let (mut samples, mut rounds, mut slowest) = (0, 0, Duration::ZERO);
    let (mut in_stack_walks, mut in_panics) = (0, 0);
    for run in 1..=RUNS {
        RUN.store(run, Ordering::Relaxed);
        RUN_STARTED_MS.store(base.elapsed().as_millis() as u64, Ordering::Relaxed);
        let started = Instant::now();

        let capture = Capture::start().unwrap();
        let until = Instant::now() + RUN_LENGTH;
        rounds += std::thread::scope(|s| {
            let workers: Vec<_> = (0..THREADS)
                .map(|t| {
                    let shared = &shared;
                    std::thread::Builder::new()
                        .name(format!("churn-{t}"))
                        .spawn_scoped(s, move || churn(shared, run * 1000 + t, until))
                        .unwrap()
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).sum::<u64>()
        });
        let recorded = capture.stop().unwrap();
        samples += recorded.sample_count();
        // The dangerous moments: a sample taken while the thread was itself
        // walking its stack (for the contention profiles) or unwinding a
        // panic. Counted to show the test did reach them.
        for sample in &recorded.profile().samples {
            let holds = |part: &str| sample.stack.iter().any(|f| f.contains(part));
            if holds("contention::record::current_stack") {
                in_stack_walks += sample.values[0];
            }
            // (Not `panicking`: every thread's root runs in
            // `std::panicking::catch_unwind`.)
            if holds("rust_panic") || holds("_Unwind_") {
                in_panics += sample.values[0];
            }
        }
        // Keep the contention tables from growing run after run.
        contention::reset();

        slowest = slowest.max(started.elapsed());
        RUN_STARTED_MS.store(u64::MAX, Ordering::Relaxed);
    }
    contention::set_block_profile_rate(0).unwrap();
    contention::set_mutex_profile_fraction(0).unwrap();

    println!(
        "cpu_hang: {RUNS} runs of {THREADS} threads in {:.1} s (slowest run {:.2} s): \
         {samples} CPU samples ({in_stack_walks} inside a contention stack walk, {in_panics} \
         inside a panic), {rounds} rounds of allocating and locking",
        base.elapsed().as_secs_f64(),
        slowest.as_secs_f64()
    );
    assert!(samples > 0, "the CPU profiler took no samples at all");
}
