//! What a goroutine dump costs: a process with 200 parked threads and
//! 1,000 parked tokio tasks is dumped (every thread walked on itself,
//! every task traced, all symbolised, written in Go's debug=2 form).
//!
//! `cargo bench -p bench --bench goroutine_dump` prints the first dump
//! (which loads the program's debug information to name the frames), the
//! median and worst of the next ones with the debug information kept, and
//! the same with it released after every dump, as `/debug/pprof/goroutine`
//! does to keep the service's memory small. Either way the names of the
//! addresses already seen stay in labkit's small table, so a dump of the
//! same program again loads nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use labkit::goroutine::Goroutines;
use labkit::thread_dump::ANSWER_WITHIN;

const THREADS: usize = 200;
const TASKS: usize = 1_000;
const RUNS: usize = 10;

fn main() {
    let lock = Arc::new(parking_lot::Mutex::new(()));
    let held = lock.lock();
    let threads: Vec<_> = (0..THREADS)
        .map(|i| {
            let lock = lock.clone();
            std::thread::Builder::new()
                .name(format!("parked-{i}"))
                .spawn(move || drop(lock.lock()))
                .unwrap()
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (stop, _) = tokio::sync::broadcast::channel::<()>(1);
    for _ in 0..TASKS {
        let mut stopped = stop.subscribe();
        runtime.spawn(async move {
            let _ = stopped.recv().await;
        });
    }
    // Let every task reach its await and every thread its lock.
    runtime.block_on(async { tokio::time::sleep(Duration::from_millis(200)).await });

    let dump = |release: bool| {
        let started = Instant::now();
        let tasks = runtime
            .block_on(labkit::tasks::dump(
                runtime.handle(),
                Duration::from_secs(30),
            ))
            .unwrap();
        let mut all = Goroutines::of_threads(ANSWER_WITHIN).unwrap();
        all.add_tasks(&tasks);
        let text = all.debug2();
        if release {
            labkit::goroutine::release_symbols();
        }
        let took = started.elapsed();
        (
            took,
            all.count(labkit::goroutine::Kind::Thread),
            all.count(labkit::goroutine::Kind::Task),
            text.len(),
        )
    };
    let (first, threads_seen, tasks_seen, bytes) = dump(false);
    println!(
        "goroutine dump of {threads_seen} threads and {tasks_seen} tasks ({} KB of debug=2 text)",
        bytes / 1000
    );
    println!(
        "  first dump (loads debug info):        {:>7.1} ms",
        ms(first)
    );
    for (label, release) in [
        ("debug information kept", false),
        ("debug information released each time", true),
    ] {
        let mut times: Vec<Duration> = (0..RUNS).map(|_| dump(release).0).collect();
        times.sort();
        println!(
            "  {label:<37} median {:>7.1} ms, max {:>7.1} ms ({RUNS} dumps)",
            ms(times[RUNS / 2]),
            ms(times[RUNS - 1])
        );
    }
    // Where the time goes, debug information kept: the tasks (tokio traces and names
    // them), the threads (walked, then named), the text.
    let mut parts = [Duration::ZERO; 3];
    for _ in 0..RUNS {
        let t = Instant::now();
        let tasks = runtime
            .block_on(labkit::tasks::dump(
                runtime.handle(),
                Duration::from_secs(30),
            ))
            .unwrap();
        parts[0] += t.elapsed();
        let t = Instant::now();
        let mut all = Goroutines::of_threads(ANSWER_WITHIN).unwrap();
        parts[1] += t.elapsed();
        let t = Instant::now();
        all.add_tasks(&tasks);
        std::hint::black_box(all.debug2());
        parts[2] += t.elapsed();
    }
    println!(
        "  of which, on average: tasks {:.1} ms, threads {:.1} ms, text {:.1} ms",
        ms(parts[0]) / RUNS as f64,
        ms(parts[1]) / RUNS as f64,
        ms(parts[2]) / RUNS as f64
    );
    drop(stop);
    drop(held);
    for t in threads {
        t.join().unwrap();
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
