//! What profiler labels cost (`labkit::labels`): `cargo bench -p bench
//! --bench labels`.
//!
//! - setting labels: `with` (Go's `pprof.Do`, merged with the current
//!   set), `set_thread`, and `LabelSet::new` for a set already made (a
//!   lookup under a lock: make sets once, not per request); the target is
//!   ≤ 100 ns for setting;
//! - a labelled task: polling a future through `labels::task` against the
//!   bare future, outside a tokio task and inside one (where the first
//!   poll records the task's labels for the goroutine dump, and the end of
//!   the scope takes them out);
//! - a CPU capture's cost: the same work while a capture runs, inside a
//!   labelled scope and outside one (the signal handler reads one more
//!   thread-local when there are labels to read: the two should not
//!   differ measurably).

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, criterion_group, criterion_main};
use labkit::labels::{self, LabelSet};

fn setting(c: &mut Criterion) {
    let mut g = c.benchmark_group("labels");
    let export = LabelSet::new(&[("kind", "export"), ("tenant", "acme")]);
    let outer = LabelSet::new(&[("service", "reports")]);
    g.bench_function("with (Do), no labels before", |b| {
        b.iter(|| labels::with(black_box(export), || black_box(1)))
    });
    labels::set_thread(outer);
    g.bench_function("with (Do), merged with the thread's", |b| {
        b.iter(|| labels::with(black_box(export), || black_box(1)))
    });
    labels::set_thread(LabelSet::empty());
    g.bench_function("set_thread", |b| {
        b.iter(|| labels::set_thread(black_box(export)))
    });
    labels::set_thread(LabelSet::empty());
    g.bench_function("LabelSet::new of a set already made", |b| {
        b.iter(|| LabelSet::new(black_box(&[("kind", "export"), ("tenant", "acme")])))
    });
    g.finish();
}

/// Ready at once: what is measured is the wrapper's poll.
struct Ready;

impl Future for Ready {
    type Output = u64;
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<u64> {
        Poll::Ready(black_box(1))
    }
}

fn polling(c: &mut Criterion) {
    let mut g = c.benchmark_group("labelled task");
    let export = LabelSet::new(&[("kind", "export")]);
    let mut cx = Context::from_waker(Waker::noop());
    g.bench_function("poll a bare future", |b| {
        b.iter(|| {
            let mut f = Ready;
            Pin::new(&mut f).poll(&mut cx)
        })
    });
    let mut labelled = labels::task(export, Ready);
    g.bench_function("poll through labels::task", |b| {
        b.iter(|| Pin::new(&mut labelled).poll(&mut cx))
    });
    g.bench_function("labels::task (a box per task) and one poll", |b| {
        b.iter(|| {
            let mut f = labels::task(export, Ready);
            Pin::new(&mut f).poll(&mut cx)
        })
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    g.bench_function(
        "labels::task and one poll, inside a tokio task (recorded for the dump)",
        |b| {
            b.iter_custom(|iters| {
                let in_task = runtime.spawn(async move {
                    let mut cx = Context::from_waker(Waker::noop());
                    let start = std::time::Instant::now();
                    for _ in 0..iters {
                        let mut f = labels::task(export, Ready);
                        let _ = black_box(Pin::new(&mut f).poll(&mut cx));
                    }
                    start.elapsed()
                });
                runtime.block_on(in_task).unwrap()
            })
        },
    );
    g.finish();
}

fn capture(c: &mut Criterion) {
    let mut g = c.benchmark_group("work under a CPU capture");
    g.sample_size(30);
    let export = LabelSet::new(&[("kind", "export")]);
    let running = labkit::capture::Capture::start().unwrap();
    g.bench_function("burn 10 units, no labels", |b| {
        b.iter(|| labkit::work::burn(10, black_box(1)))
    });
    g.bench_function("burn 10 units, labelled", |b| {
        b.iter(|| labels::with(export, || labkit::work::burn(10, black_box(1))))
    });
    g.finish();
    drop(running.stop());
}

criterion_group!(benches, setting, polling, capture);
criterion_main!(benches);
