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
//! same program again loads nothing. Last, `/stats` on a one-thread
//! server is timed idle and while twenty dumps of that server run.

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
    stats_during_dumps();
    drop(stop);
    drop(held);
    for t in threads {
        t.join().unwrap();
    }
}

/// `/stats` on a one-thread server (as Day 089's), idle and while
/// `/debug/pprof/goroutine?debug=2` is asked of the same server without a
/// pause: the dump's thread walk runs on tokio's blocking pool, so
/// `/stats` should wait for the task half of the dump only.
fn stats_during_dumps() {
    use axum::routing::get;
    use labkit::net::{Background, Limits};
    let router = axum::Router::new()
        .route("/stats", get(|| async { "ok" }))
        .merge(labkit::endpoints::router(10));
    let server = Background::start(router, Limits::new(Duration::from_secs(30)), 0).unwrap();
    let addr = server.addr();
    let get = |path: &str| {
        labkit::http::request(addr, "GET", path, None, Duration::from_secs(60)).unwrap()
    };
    let round_trips = |n: usize| {
        let mut times: Vec<Duration> = (0..n)
            .map(|_| {
                let t = Instant::now();
                assert_eq!(get("/stats").status, 200);
                t.elapsed()
            })
            .collect();
        times.sort();
        times
    };
    let idle = round_trips(200);
    // Twenty dumps in a row, and /stats asked without a pause meanwhile.
    const DUMPS: usize = 20;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let dumper = {
        let done = done.clone();
        std::thread::spawn(move || {
            for _ in 0..DUMPS {
                let answer = labkit::http::request(
                    addr,
                    "GET",
                    "/debug/pprof/goroutine?debug=2",
                    None,
                    Duration::from_secs(60),
                )
                .unwrap();
                assert_eq!(answer.status, 200);
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        })
    };
    let mut busy = Vec::new();
    while done.load(std::sync::atomic::Ordering::SeqCst) < DUMPS {
        busy.extend(round_trips(1));
    }
    dumper.join().unwrap();
    busy.sort();
    let dumps = DUMPS;
    let p = |t: &[Duration], q: f64| ms(t[((t.len() - 1) as f64 * q) as usize]);
    println!(
        "  /stats idle:                 p50 {:>6.2} ms, p99 {:>6.2} ms, max {:>6.2} ms",
        p(&idle, 0.5),
        p(&idle, 0.99),
        p(&idle, 1.0)
    );
    println!(
        "  /stats during {dumps} dumps ({} asked): p50 {:>6.2} ms, p99 {:>6.2} ms, max {:>6.2} ms",
        busy.len(),
        p(&busy, 0.5),
        p(&busy, 0.99),
        p(&busy, 1.0)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
