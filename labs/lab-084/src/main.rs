//! Day 084, heap profiles: the lab.
//!
//! An order processor in the shape of the Go seed's: a pool of workers
//! takes orders from a queue, builds a receipt for each in a scratch
//! buffer, and sends the receipts to a collector that keeps them. At the
//! end the day's receipts are written to `receipts.txt`. dhat records
//! every allocation; its profile ranks the allocation sites and tells
//! what was allocated from what was still live when the heap was largest.
//!
//! Run it (`cargo run -p lab-084`) and read what it says of
//! `lab-out/084/dhat-heap.json`. Fix it, then self-check with
//! `cargo test -p lab-084`. The page is `book/day-084.md`.

use std::fmt::Write as _;
use std::thread;

use crossbeam_channel::{Receiver, Sender, bounded};
use labkit::Error;
use labkit::atomic::Batch;
use labkit::heap::HeapScope;

// ANCHOR: allocator
// dhat sees allocations through the global allocator: one line, in the
// binary, for the whole program.
#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;
// ANCHOR_END: allocator

// ANCHOR: shape
const ORDERS: u64 = 400;
const WORKERS: usize = 4;
/// Lines on each receipt: about 1 KiB of text in all.
const ITEMS: u64 = 24;
/// The scratch buffer per order: 64 KiB "to be safe".
const SCRATCH_BYTES: usize = 64 * 1024;
// ANCHOR_END: shape

fn main() -> Result<(), Error> {
    let out_dir = workbook::this_day!().out_dir();

    // ANCHOR: scope
    // The heap profile and the receipts are one run's results: they are
    // put in place together, or neither is (a full disk leaves the last
    // run's pair as it was).
    let mut results = Batch::new();
    let text = {
        // Records every allocation until `stop_into`, which makes dhat
        // write its file and stages it with the run's other results.
        let heap = HeapScope::start(&out_dir)?;
        let receipts = process_orders();
        assert_eq!(receipts.len() as u64, ORDERS, "one receipt per order");
        // The day's receipts as one text: exactly the bytes they need.
        let text = receipts.concat();
        heap.stop_into(&mut results)?;
        text
    };
    results.write_bytes(&out_dir.join("receipts.txt"), text.as_bytes())?;
    results.commit()?;
    // ANCHOR_END: scope

    workbook::this_day!().report(&out_dir);
    Ok(())
}

fn process_orders() -> Vec<String> {
    let (order_tx, order_rx) = bounded::<u64>(16);
    let (receipt_tx, receipt_rx) = bounded::<String>(16);
    let pool: Vec<_> = (0..WORKERS)
        .map(|i| {
            let (orders, receipts) = (order_rx.clone(), receipt_tx.clone());
            thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || worker(&orders, &receipts))
                .expect("spawn a worker")
        })
        .collect();
    drop((order_rx, receipt_tx));
    let collector = thread::Builder::new()
        .name("collector".into())
        .spawn(move || collect(&receipt_rx))
        .expect("spawn the collector");
    for order in 0..ORDERS {
        order_tx.send(order).expect("a worker is listening");
    }
    drop(order_tx);
    for w in pool {
        w.join().expect("a worker panicked");
    }
    collector.join().expect("the collector panicked")
}

#[inline(never)]
fn worker(orders: &Receiver<u64>, receipts: &Sender<String>) {
    for order in orders {
        if receipts.send(build_receipt(order)).is_err() {
            return;
        }
    }
}

// ANCHOR: receipt
/// Builds one order's receipt in a scratch buffer of its own.
#[inline(never)]
fn build_receipt(order: u64) -> String {
    let mut scratch = String::with_capacity(SCRATCH_BYTES);
    writeln!(scratch, "order {order:06}: {ITEMS} items").expect("a String takes any text");
    for item in 0..ITEMS {
        let sku = (order * 7919 + item * 104_729) % 100_000_000;
        let (qty, price) = (1 + (order + item) % 9, (order * 31 + item * 17) % 1000);
        writeln!(
            scratch,
            "  item {item:02}  sku {sku:08}  qty {qty}  {price:>4}.99"
        )
        .expect("a String takes any text");
    }
    scratch
}
// ANCHOR_END: receipt

#[inline(never)]
fn collect(receipts: &Receiver<String>) -> Vec<String> {
    let mut kept = Vec::new();
    for receipt in receipts {
        kept.push(receipt);
    }
    kept
}
