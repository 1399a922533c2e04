//! Does writing a profile stall the waits it profiles?
//!
//! Two threads ping-pong over a rendezvous channel with every wait recorded
//! (rate 1) while a third writes the block profile, the first of the
//! process. The measurement is `#[ignore]`d (it reports a duration, and a
//! duration is no verdict on a busy machine):
//!
//! ```text
//! cargo test -p labkit --test contention_stall -- --ignored --nocapture
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use labkit::contention;

/// The slowest round trip of a ping-pong while `during` runs on another
/// thread, and the slowest before it, as a control.
fn slowest_round_trip(during: impl FnOnce() + Send + 'static) -> (Duration, Duration, Duration) {
    let (ping_tx, ping_rx) = contention::bounded::<u64>(0);
    let (pong_tx, pong_rx) = contention::bounded::<u64>(0);
    let echo = thread::spawn(move || {
        for v in ping_rx {
            if pong_tx.send(v).is_err() {
                break;
            }
        }
    });
    let round_trips = |for_how_long: Duration, stop: Option<&AtomicBool>| {
        let start = Instant::now();
        let mut slowest = Duration::ZERO;
        loop {
            let t = Instant::now();
            ping_tx.send(1).unwrap();
            pong_rx.recv().unwrap();
            slowest = slowest.max(t.elapsed());
            let done = match stop {
                Some(stop) => stop.load(Ordering::Relaxed),
                None => start.elapsed() >= for_how_long,
            };
            if done {
                return slowest;
            }
        }
    };
    let control = round_trips(Duration::from_millis(300), None);
    let finished = Arc::new(AtomicBool::new(false));
    let writer = {
        let finished = Arc::clone(&finished);
        thread::spawn(move || {
            let start = Instant::now();
            during();
            let took = start.elapsed();
            finished.store(true, Ordering::Relaxed);
            took
        })
    };
    let slowest = round_trips(Duration::ZERO, Some(&finished));
    let took = writer.join().unwrap();
    drop(ping_tx);
    echo.join().unwrap();
    (control, slowest, took)
}

/// Keeps one core busy for `how_long` without touching a lock: what the
/// writer costs the ping-pong in CPU alone, on a machine with few cores.
fn spin(how_long: Duration) {
    let start = Instant::now();
    while start.elapsed() < how_long {
        std::hint::spin_loop();
    }
}

#[test]
#[ignore = "a measurement: run it with --ignored --nocapture"]
fn writing_the_first_profile_does_not_stall_profiled_waits() {
    contention::set_block_profile_rate(1).unwrap();
    let (control, slowest, took) = slowest_round_trip(|| {
        let profile = contention::block_profile();
        let mut bytes = Vec::new();
        profile.write_pprof(&mut bytes).unwrap();
    });
    let (_, slowest_spinning, _) = slowest_round_trip(move || spin(took));
    contention::set_block_profile_rate(0).unwrap();
    println!(
        "slowest profiled round trip: {control:?} alone, {slowest:?} while the first profile \
         was written (writing took {took:?}), {slowest_spinning:?} while a thread spun as long"
    );
}
