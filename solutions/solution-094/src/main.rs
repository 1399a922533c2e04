//! Day 094, a deadlock: the solution.
//!
//! A shop's stock system. Two worker threads move items between two
//! stocks, each stock behind its own `parking_lot::Mutex`: `restock`
//! carries items from the warehouse to the shop floor, `returns` carries
//! returned items back. A move holds both stocks' locks, so no item is
//! ever counted twice or lost. A watchdog thread watches the count of
//! completed moves; if it stands still for two seconds, the watchdog
//! writes a thread dump and ends the program.
//!
//! The fix: one lock order. Every move takes both locks through
//! `lock_both`, the warehouse's first, then the shop's, whichever way the
//! item goes, so the worker that gets the first lock always gets the
//! second too.
//!
//! Run it (`cargo run -p solution-094`); its test is
//! `cargo test -p solution-094`. The page is `book/day-094.md`.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use labkit::Error;
use parking_lot::{Mutex, MutexGuard};
use workbook::days::day094::{self, MOVES, Run};

// ANCHOR: store
/// The two stocks, each behind its own lock, and the count of moves done.
struct Store {
    warehouse: Mutex<u64>,
    shop: Mutex<u64>,
    /// Moves completed, by both workers: what the watchdog watches.
    progress: AtomicU64,
    overlap: Overlap,
}
// ANCHOR_END: store

// ANCHOR: overlap
/// Under load, two moves in flight overlap sooner or later: one worker
/// holds its first lock at the moment the other takes its own. This makes
/// that happen on the very first move, on every machine, fast or slow, two
/// cores or sixty-four: a worker holding its first lock waits until the
/// other worker has started too. After that it never waits again.
struct Overlap(AtomicUsize);

impl Overlap {
    fn started(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn wait_for_both(&self) {
        while self.0.load(Ordering::SeqCst) < 2 {
            thread::sleep(Duration::from_millis(1));
        }
    }
}
// ANCHOR_END: overlap

fn main() -> Result<(), Error> {
    let out_dir = workbook::this_day!().out_dir();
    let store: &'static Store = Box::leak(Box::new(Store {
        warehouse: Mutex::new(MOVES),
        shop: Mutex::new(MOVES),
        progress: AtomicU64::new(0),
        overlap: Overlap(AtomicUsize::new(0)),
    }));
    static FINISHED: AtomicBool = AtomicBool::new(false);
    let watchdog = day094::watchdog(&store.progress, &FINISHED, 2 * MOVES, out_dir.clone());

    // ANCHOR: workers
    let worker = |name: &str, one_move: fn(&Store)| {
        thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                store.overlap.started();
                for _ in 0..MOVES {
                    one_move(store);
                }
            })
            .expect("cannot start a worker thread")
    };
    let restock = worker("restock", restock_one);
    let returns = worker("returns", return_one);
    restock.join().expect("restock panicked");
    returns.join().expect("returns panicked");
    // ANCHOR_END: workers

    FINISHED.store(true, Ordering::Release);
    watchdog.join().expect("the watchdog panicked");
    let stocks = (*store.warehouse.lock(), *store.shop.lock());
    day094::save_dump(&out_dir)?;
    Run {
        planned: 2 * MOVES,
        done: store.progress.load(Ordering::Relaxed),
        stalled: None,
        stocks: Some(stocks),
    }
    .save(&out_dir)?;
    day094::report(&out_dir);
    Ok(())
}

// ANCHOR: moves
/// Takes both stocks' locks in the one order every move uses, whichever
/// way its item goes: the warehouse first, then the shop.
fn lock_both(store: &Store) -> (MutexGuard<'_, u64>, MutexGuard<'_, u64>) {
    let warehouse = store.warehouse.lock();
    store.overlap.wait_for_both();
    let shop = store.shop.lock();
    (warehouse, shop)
}

/// Moves one item from the warehouse to the shop floor.
fn restock_one(store: &Store) {
    let (mut warehouse, mut shop) = lock_both(store);
    *warehouse -= 1;
    *shop += 1;
    store.progress.fetch_add(1, Ordering::Relaxed);
}

/// Moves one returned item from the shop floor back to the warehouse.
fn return_one(store: &Store) {
    let (mut warehouse, mut shop) = lock_both(store);
    *shop -= 1;
    *warehouse += 1;
    store.progress.fetch_add(1, Ordering::Relaxed);
}
// ANCHOR_END: moves
