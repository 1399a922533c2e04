//! Day 082, whose CPU is it?: the fixed program.
//!
//! Four worker threads price a day's orders. Orders are routed to a worker
//! by customer, so that one customer's orders stay in order, and one
//! customer places four times as many orders as any other. The pool runs
//! twice: routed by customer, then with one shared queue from which every
//! worker takes the next order. With named threads the per-thread view
//! shows the overloaded worker of the first run at once.

use std::path::Path;
use std::thread;

use labkit::capture::{ProfileScope, until_sampled};
use labkit::contention::{Receiver, Sender, bounded};
use labkit::work::burn;
use labkit::{Error, threads};
use workbook::days::day082;

// ANCHOR: shape
const WORKERS: u64 = 4;
/// Orders per customer: customer 0 is the big one.
const ORDERS: [u64; 4] = [200, 50, 50, 50];
/// CPU per order, in `labkit::work` units.
const PRICE_UNITS: u64 = 12;
/// Samples the partitioned run's profile must hold: it repeats the day's
/// orders until it has them (Day 081).
const SAMPLES: u64 = 200;
// ANCHOR_END: shape

fn main() -> Result<(), Error> {
    let out_dir = workbook::this_day!().out_dir();

    let skewed = out_dir.join(day082::PARTITIONED);
    std::fs::create_dir_all(&skewed).map_err(|e| Error::io(skewed.display(), e))?;
    profile_run(&skewed, || {
        for _round in until_sampled(1, SAMPLES) {
            run_partitioned();
        }
    })?;

    // ANCHOR: shared_run
    // The cure for a skew: one queue for all, so a worker that finishes
    // early takes the next order instead of going idle.
    let shared = out_dir.join(day082::SHARED);
    std::fs::create_dir_all(&shared).map_err(|e| Error::io(shared.display(), e))?;
    profile_run(&shared, run_shared_queue)?;
    // ANCHOR_END: shared_run

    workbook::this_day!().report(&out_dir);
    Ok(())
}

/// Profiles one run into `dir`: `cpu.pb.gz`, `cpu.svg` and `threads.txt`.
fn profile_run(dir: &Path, run: fn()) -> Result<(), Error> {
    {
        let _profile = ProfileScope::start(dir)?;
        run();
    }
    threads::save(dir)
}

// ANCHOR: partitioned
/// One queue per worker; every order goes to its customer's worker.
fn run_partitioned() {
    let (queues, receivers): (Vec<Sender<u64>>, Vec<Receiver<u64>>) =
        (0..WORKERS).map(|_| bounded(64)).unzip();
    let pool: Vec<_> = receivers
        .into_iter()
        .enumerate()
        .map(|(i, orders)| {
            thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || threads::account(|| worker(&orders)))
                .expect("spawn a worker")
        })
        .collect();
    for (customer, &count) in ORDERS.iter().enumerate() {
        for n in 0..count {
            let order = n * 16 + customer as u64;
            queues[customer % WORKERS as usize]
                .send(order)
                .expect("a worker is listening");
        }
    }
    drop(queues);
    for w in pool {
        w.join().expect("a worker panicked");
    }
}
// ANCHOR_END: partitioned

// ANCHOR: shared
/// One queue for every worker: whoever is free takes the next order.
fn run_shared_queue() {
    let (queue, orders) = bounded::<u64>(ORDERS.iter().sum::<u64>() as usize);
    for (customer, &count) in ORDERS.iter().enumerate() {
        for n in 0..count {
            queue
                .send(n * 16 + customer as u64)
                .expect("the queue has room");
        }
    }
    drop(queue);
    let pool: Vec<_> = (0..WORKERS)
        .map(|i| {
            let orders = orders.clone();
            thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || threads::account(|| worker(&orders)))
                .expect("spawn a worker")
        })
        .collect();
    drop(orders);
    for w in pool {
        w.join().expect("a worker panicked");
    }
}
// ANCHOR_END: shared

#[inline(never)]
fn worker(orders: &Receiver<u64>) -> u64 {
    let mut total = 0u64;
    for order in orders {
        total = total.wrapping_add(price_order(order));
    }
    total
}

#[inline(never)]
fn price_order(order: u64) -> u64 {
    burn(PRICE_UNITS, order).rotate_left(13)
}
