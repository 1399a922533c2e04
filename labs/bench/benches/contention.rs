//! What the contention wrappers cost: `cargo bench -p bench`.
//!
//! - off: profiling off, uncontended, against the bare parking_lot /
//!   crossbeam-channel operation (the target is ≤ 1.05×);
//! - on, uncontended: a profile on but nobody waiting, against bare (the
//!   target is ≤ 1.5×: no clock read, no stack walk, no lock);
//! - contended (two threads on one lock): off, on at rate 1 / fraction 1
//!   (every event walks a stack), and on at a production setting, block
//!   rate 10 µs / fraction 100, where only the kept events walk theirs.

use std::hint::black_box;
use std::sync::Arc;
use std::thread;

use criterion::{Criterion, criterion_group, criterion_main};
use labkit::contention;

/// A production setting: waits of 10 µs and more always kept, shorter ones
/// sampled; one contended release in 100.
const PRODUCTION: (i64, i64) = (10_000, 100);

fn set_profiling((rate, fraction): (i64, i64)) {
    contention::set_block_profile_rate(rate).unwrap();
    contention::set_mutex_profile_fraction(fraction).unwrap();
}

fn uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("uncontended");
    let bare = parking_lot::Mutex::new(0u64);
    g.bench_function("parking_lot::Mutex lock+unlock", |b| {
        b.iter(|| *black_box(&bare).lock() += 1)
    });
    let wrapped = contention::Mutex::new(0u64);
    g.bench_function("contention::Mutex lock+unlock, off", |b| {
        b.iter(|| *black_box(&wrapped).lock() += 1)
    });

    let (tx, rx) = crossbeam_channel::bounded::<u64>(1);
    g.bench_function("crossbeam send+recv", |b| {
        b.iter(|| {
            tx.send(black_box(1)).unwrap();
            rx.recv().unwrap()
        })
    });
    let (ptx, prx) = contention::bounded::<u64>(1);
    g.bench_function("contention send+recv, off", |b| {
        b.iter(|| {
            ptx.send(black_box(1)).unwrap();
            prx.recv().unwrap()
        })
    });

    set_profiling((1, 1));
    g.bench_function("contention::Mutex lock+unlock, on", |b| {
        b.iter(|| *black_box(&wrapped).lock() += 1)
    });
    g.bench_function("contention send+recv, on", |b| {
        b.iter(|| {
            ptx.send(black_box(1)).unwrap();
            prx.recv().unwrap()
        })
    });
    set_profiling((0, 0));
    contention::reset();
    g.finish();
}

/// Two threads taking turns on one lock, 10 000 lock/unlock each.
fn two_threads<M: Send + Sync + 'static>(lock: Arc<M>, op: fn(&M)) {
    let other = {
        let lock = Arc::clone(&lock);
        thread::spawn(move || {
            for _ in 0..10_000 {
                op(&lock);
            }
        })
    };
    for _ in 0..10_000 {
        op(&lock);
    }
    other.join().unwrap();
}

fn contended(c: &mut Criterion) {
    let mut g = c.benchmark_group("contended, 2 threads x 10k");
    g.sample_size(20);
    let lock = Arc::new(contention::Mutex::new(0u64));
    g.bench_function("contention::Mutex, off", |b| {
        b.iter(|| two_threads(Arc::clone(&lock), |m| *m.lock() += 1))
    });
    set_profiling((1, 1));
    g.bench_function("contention::Mutex, rate 1 / fraction 1", |b| {
        b.iter(|| two_threads(Arc::clone(&lock), |m| *m.lock() += 1))
    });
    set_profiling(PRODUCTION);
    g.bench_function("contention::Mutex, rate 10 µs / fraction 100", |b| {
        b.iter(|| two_threads(Arc::clone(&lock), |m| *m.lock() += 1))
    });
    set_profiling((0, 0));
    contention::reset();
    g.finish();
}

/// Two threads passing a value back and forth over rendezvous channels:
/// every send and every receive waits, so every operation is a block event
/// (1 000 round trips).
fn ping_pong(ping: &contention::Sender<u64>, pong: &contention::Receiver<u64>) {
    for v in 0..1_000 {
        ping.send(v).unwrap();
        pong.recv().unwrap();
    }
}

fn waits(c: &mut Criterion) {
    let mut g = c.benchmark_group("rendezvous ping-pong, 1k round trips");
    g.sample_size(20);
    let (ping_tx, ping_rx) = contention::bounded::<u64>(0);
    let (pong_tx, pong_rx) = contention::bounded::<u64>(0);
    let echo = thread::spawn(move || {
        for v in ping_rx {
            if pong_tx.send(v).is_err() {
                break;
            }
        }
    });
    g.bench_function("off", |b| b.iter(|| ping_pong(&ping_tx, &pong_rx)));
    set_profiling((1, 1));
    g.bench_function("rate 1", |b| b.iter(|| ping_pong(&ping_tx, &pong_rx)));
    set_profiling(PRODUCTION);
    g.bench_function("rate 10 µs", |b| b.iter(|| ping_pong(&ping_tx, &pong_rx)));
    set_profiling((0, 0));
    contention::reset();
    drop(ping_tx);
    echo.join().unwrap();
    g.finish();
}

criterion_group!(benches, uncontended, contended, waits);
criterion_main!(benches);
