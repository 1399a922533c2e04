//! Exact answers at rate 1 / fraction 1, and unbiased sampling.
//!
//! The profiles are process-wide, so these tests take turns (`serial`) and
//! start from a clean table.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use super::record::{before_wait, block_event, mutex_event};
use super::*;
use crate::profile::Profile;

fn serial() -> parking_lot::MutexGuard<'static, ()> {
    static TURN: parking_lot::Mutex<()> = parking_lot::const_mutex(());
    let turn = TURN.lock();
    reset();
    set_block_profile_rate(0).unwrap();
    set_mutex_profile_fraction(0).unwrap();
    turn
}

/// `/proc/self/task/<tid>` of the calling thread.
fn this_thread_in_proc() -> std::path::PathBuf {
    let link = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
    std::path::Path::new("/proc").join(link)
}

/// Polls a thread's scheduler state until it is `S`: asleep, here inside
/// a blocking receive, the only place the test's consumer sleeps.
fn wait_until_asleep(thread: &std::path::Path) {
    loop {
        let stat = std::fs::read_to_string(thread.join("stat")).expect("the thread's stat");
        // `tid (comm) STATE …`: the state follows the last `)`.
        let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
        if state.is_some_and(|s| s.starts_with('S')) {
            return;
        }
        thread::sleep(Duration::from_micros(200));
    }
}

fn totals(p: &Profile) -> (i64, i64) {
    (p.total(0), p.total(1))
}

fn within(actual: f64, expected: f64, tolerance: f64) -> bool {
    (actual - expected).abs() <= expected * tolerance
}

#[test]
fn rates_out_of_range_are_refused_by_name() {
    let _turn = serial();
    let err = set_block_profile_rate(-1).unwrap_err().to_string();
    assert!(
        err.contains("block profile rate -1") && err.contains("0 (off)"),
        "{err}"
    );
    let err = set_block_profile_rate(MAX_BLOCK_RATE_NS + 1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("one minute"), "{err}");
    let err = set_mutex_profile_fraction(-5).unwrap_err().to_string();
    assert!(err.contains("mutex profile fraction -5"), "{err}");
    assert_eq!(set_block_profile_rate(7).unwrap(), 0);
    assert_eq!(set_block_profile_rate(0).unwrap(), 7);
}

#[test]
fn nothing_is_recorded_while_off() {
    let _turn = serial();
    let m = Arc::new(Mutex::new(0));
    let guard = m.lock();
    let waiter = {
        let m = Arc::clone(&m);
        thread::spawn(move || *m.lock() += 1)
    };
    thread::sleep(Duration::from_millis(20));
    drop(guard);
    waiter.join().unwrap();
    assert_eq!(block_profile().sample_count(), 0);
    assert_eq!(mutex_profile().sample_count(), 0);
}

/// N threads queue on a held lock; each then holds it for HOLD. Every
/// thread waits (N block events) and every release but the last hands the
/// lock to a waiter (N contended releases: the main thread's and N-1).
///
/// The two profiles end a wait at different moments, and the stopwatch
/// follows each: a waiter's block delay lasts until it runs again, while
/// the mutex delay is charged at releases. The last waiter's wake-up
/// (from the release that handed it the lock to the moment it ran) comes
/// after the last contended release, so no release is charged for it: on a
/// busy machine that is milliseconds, and the mutex reference leaves it out.
#[test]
fn every_wait_on_a_lock_and_every_contended_release_is_counted_exactly() {
    let _turn = serial();
    set_block_profile_rate(1).unwrap();
    set_mutex_profile_fraction(1).unwrap();
    const N: u64 = 4;
    const HOLD: Duration = Duration::from_millis(10);
    let lock = Arc::new(Mutex::new(0u64));
    let guard = lock.lock();
    let threads: Vec<_> = (0..N)
        .map(|_| {
            let lock = Arc::clone(&lock);
            thread::spawn(move || {
                let start = Instant::now();
                let mut g = lock.lock();
                let acquired = Instant::now();
                *g += 1;
                thread::sleep(HOLD);
                let released = Instant::now();
                drop(g);
                (acquired - start, acquired, released)
            })
        })
        .collect();
    while lock.waiting() < N {
        thread::yield_now();
    }
    thread::sleep(HOLD);
    let main_released = Instant::now();
    drop(guard);
    let mut holders: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    set_block_profile_rate(0).unwrap();
    set_mutex_profile_fraction(0).unwrap();
    let measured: Duration = holders.iter().map(|h| h.0).sum();
    holders.sort_by_key(|h| h.1);
    let handed_over = match holders.len() {
        0 | 1 => main_released,
        n => holders[n - 2].2,
    };
    let last_wake_up = holders.last().map_or(Duration::ZERO, |h| h.1 - handed_over);

    let (count, delay) = totals(block_profile().profile());
    assert_eq!(count, N as i64, "block events");
    assert!(
        within(delay as f64, measured.as_nanos() as f64, 0.03),
        "block delay {delay} ns vs measured {measured:?}"
    );
    let (count, delay) = totals(mutex_profile().profile());
    assert_eq!(count, N as i64, "contended releases");
    let charged = measured - last_wake_up;
    assert!(
        within(delay as f64, charged.as_nanos() as f64, 0.03),
        "mutex delay {delay} ns vs measured {charged:?} (the last wake-up, {last_wake_up:?}, \
         left out)"
    );
}

/// The mutex profile charges the releaser; the block profile the waiter.
#[test]
fn delay_is_charged_to_the_waiter_in_one_profile_and_the_releaser_in_the_other() {
    let _turn = serial();
    set_block_profile_rate(1).unwrap();
    set_mutex_profile_fraction(1).unwrap();
    let lock = Arc::new(Mutex::new(()));

    #[inline(never)]
    fn hold_while_another_waits(lock: &Mutex<()>) -> crate::contention::MutexGuard<'_, ()> {
        lock.lock()
    }
    #[inline(never)]
    fn wait_for_the_lock(lock: &Mutex<()>) {
        drop(lock.lock());
    }

    let guard = hold_while_another_waits(&lock);
    let waiter = {
        let lock = Arc::clone(&lock);
        thread::Builder::new()
            .name("the-waiter".into())
            .spawn(move || wait_for_the_lock(&lock))
            .unwrap()
    };
    while lock.waiting() < 1 {
        thread::yield_now();
    }
    thread::sleep(Duration::from_millis(5));
    release_here(guard);
    waiter.join().unwrap();
    set_block_profile_rate(0).unwrap();
    set_mutex_profile_fraction(0).unwrap();

    #[inline(never)]
    fn release_here(guard: crate::contention::MutexGuard<'_, ()>) {
        drop(guard);
    }

    let block = block_profile();
    let waiter_sample = &block.profile().samples[0];
    assert_eq!(waiter_sample.thread.as_deref(), Some("the-waiter"));
    let leaf = waiter_sample.stack.last().unwrap();
    assert!(
        leaf.ends_with("wait_for_the_lock"),
        "block profile leaf: {leaf}"
    );

    let mutex = mutex_profile();
    let leaf = mutex.profile().samples[0].stack.last().unwrap();
    assert!(leaf.ends_with("release_here"), "mutex profile leaf: {leaf}");
}

/// A consumer waits on an empty channel N times: the producer sends only
/// once the consumer is asleep inside `recv`, so every receive waits, even
/// on a busy machine where the consumer can be preempted for longer than
/// any fixed pause. N receive waits, delay as measured.
#[test]
fn every_wait_on_a_channel_is_counted_exactly() {
    let _turn = serial();
    set_block_profile_rate(1).unwrap();
    const N: usize = 20;
    let (tx, rx) = bounded::<usize>(1);
    let (me_tx, me_rx) = std::sync::mpsc::channel();
    let producer = thread::spawn(move || {
        let consumer: std::path::PathBuf = me_rx.recv().unwrap();
        for i in 0..N {
            wait_until_asleep(&consumer);
            thread::sleep(Duration::from_millis(10));
            tx.send(i).unwrap();
        }
    });
    me_tx.send(this_thread_in_proc()).unwrap();
    let mut measured = Duration::ZERO;
    for _ in 0..N {
        let start = Instant::now();
        rx.recv().unwrap();
        measured += start.elapsed();
    }
    producer.join().unwrap();
    set_block_profile_rate(0).unwrap();

    let (count, delay) = totals(block_profile().profile());
    assert_eq!(count, N as i64);
    assert!(
        within(delay as f64, measured.as_nanos() as f64, 0.03),
        "delay {delay} ns vs measured {measured:?}"
    );
}

/// Waits of 100 µs at a rate of 1 ms: about one in ten is kept, each
/// standing for ten. The totals must come out right on average.
#[test]
fn sampled_block_events_are_scaled_without_bias() {
    let _turn = serial();
    set_block_profile_rate(1_000_000).unwrap();
    for _ in 0..20_000 {
        block_event(before_wait(), 100_000);
    }
    // Waits at or above the rate are always kept, unscaled.
    for _ in 0..100 {
        block_event(before_wait(), 3_000_000);
    }
    set_block_profile_rate(0).unwrap();
    let (count, delay) = totals(block_profile().profile());
    let expected_count = 20_000.0 + 100.0;
    let expected_delay = 20_000.0 * 100_000.0 + 100.0 * 3_000_000.0;
    assert!(within(count as f64, expected_count, 0.15), "count {count}");
    assert!(within(delay as f64, expected_delay, 0.15), "delay {delay}");
}

#[test]
fn sampled_mutex_events_are_scaled_without_bias() {
    let _turn = serial();
    set_mutex_profile_fraction(10).unwrap();
    for _ in 0..20_000 {
        mutex_event(50_000);
    }
    set_mutex_profile_fraction(0).unwrap();
    let (count, delay) = totals(mutex_profile().profile());
    assert!(within(count as f64, 20_000.0, 0.15), "count {count}");
    assert!(
        within(delay as f64, 20_000.0 * 50_000.0, 0.15),
        "delay {delay}"
    );
}

/// Eight threads hammer one lock: every wait the wrappers see reaches the
/// table once, the totals add up, and nothing deadlocks. Every 50th turn
/// holds the lock across a short sleep, so the threads surely queue even
/// on a machine too busy to run them at once.
#[test]
fn heavy_contention_loses_and_doubles_nothing() {
    let _turn = serial();
    set_block_profile_rate(1).unwrap();
    set_mutex_profile_fraction(1).unwrap();
    let before = record::tests::RECORDED.load(Ordering::Relaxed);
    let lock = Arc::new(Mutex::new(0u64));
    let start = Arc::new(std::sync::Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (lock, start) = (Arc::clone(&lock), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                for turn in 0..2_000 {
                    let mut g = lock.lock();
                    *g += 1;
                    if turn % 50 == 0 {
                        thread::sleep(Duration::from_micros(100));
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    set_block_profile_rate(0).unwrap();
    set_mutex_profile_fraction(0).unwrap();
    assert_eq!(*lock.lock(), 16_000);
    let recorded = record::tests::RECORDED.load(Ordering::Relaxed) - before;
    let block = block_profile().sample_count();
    let mutex = mutex_profile().sample_count();
    assert!(
        block > 0 && mutex > 0,
        "eight threads on one lock never waited?"
    );
    assert_eq!(
        (block + mutex) as u64,
        recorded,
        "events recorded vs in the profiles"
    );
}

#[test]
fn the_profile_is_pprof_that_reads_back() {
    let _turn = serial();
    set_block_profile_rate(1).unwrap();
    block_event(before_wait(), 1_000);
    set_block_profile_rate(0).unwrap();
    let recorded = block_profile();
    let mut bytes = Vec::new();
    recorded.write_pprof(&mut bytes).unwrap();
    let back = crate::profile::decode(std::path::Path::new("block.pb.gz"), &bytes).unwrap();
    assert_eq!(
        back.sample_types,
        [
            ("contentions".to_string(), "count".to_string()),
            ("delay".to_string(), "nanoseconds".to_string())
        ]
    );
    assert_eq!(totals(&back), (1, 1_000));
    let stack = &back.samples[0].stack;
    assert!(
        stack
            .iter()
            .all(|f| !f.starts_with("labkit::contention::record")),
        "{stack:?}"
    );
    assert!(
        stack
            .iter()
            .any(|f| f.contains("the_profile_is_pprof_that_reads_back")),
        "{stack:?}"
    );
}

/// Four readers hold an `RwLock` while a writer waits. Only the last
/// reader's release hands the lock over, so the mutex profile counts the
/// writer's wait once (as Go does), charged with all of it; the other
/// three releases made nobody wait less and record nothing.
#[test]
fn a_writer_waiting_on_readers_is_counted_once() {
    let _turn = serial();
    set_block_profile_rate(1).unwrap();
    set_mutex_profile_fraction(1).unwrap();
    const READERS: usize = 4;
    let lock = Arc::new(RwLock::new(0u64));
    let guards: Vec<_> = (0..READERS).map(|_| lock.read()).collect();
    let writer = {
        let lock = Arc::clone(&lock);
        thread::spawn(move || {
            let start = Instant::now();
            *lock.write() += 1;
            start.elapsed()
        })
    };
    while lock.waiting() < 1 {
        thread::yield_now();
    }
    for guard in guards {
        thread::sleep(Duration::from_millis(5));
        drop(guard);
    }
    let waited = writer.join().unwrap();
    set_block_profile_rate(0).unwrap();
    set_mutex_profile_fraction(0).unwrap();

    let (count, delay) = totals(mutex_profile().profile());
    assert_eq!(count, 1, "contended releases: one writer's wait");
    // The writer's wake-up (after the last reader left) is not a release's
    // doing: the charge is at most the wait, and most of it (20 ms held).
    assert!(
        delay as f64 <= waited.as_nanos() as f64 * 1.03 && delay >= 15_000_000,
        "mutex delay {delay} ns vs the writer's wait {waited:?}"
    );
    assert_eq!(totals(block_profile().profile()).0, 1, "one wait");
}

/// The channel's error types come with the channel: a caller of
/// `try_send`/`try_recv` needs no crossbeam-channel of its own.
#[test]
fn the_channel_error_types_are_re_exported() {
    let (tx, rx) = bounded::<u8>(1);
    assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
    tx.try_send(1).unwrap();
    assert!(matches!(tx.try_send(2), Err(TrySendError::Full(2))));
    assert!(matches!(
        tx.send_timeout(3, Duration::from_millis(1)),
        Err(SendTimeoutError::Timeout(3))
    ));
    assert_eq!(rx.recv(), Ok(1));
    drop(tx);
    assert_eq!(rx.recv(), Err(RecvError));
    assert!(matches!(
        rx.recv_timeout(Duration::from_millis(1)),
        Err(RecvTimeoutError::Disconnected)
    ));
    let (tx, rx) = bounded::<u8>(0);
    drop(rx);
    assert_eq!(tx.send(4), Err(SendError(4)));
}

/// Labels reach the contention profiles: each waiter's wait carries its
/// scope's labels, and each release the releaser's (Go's mutex profile
/// charges the unlocker). Exact at rate 1.
#[test]
fn waits_and_releases_carry_their_labels_exactly() {
    use crate::labels::{self, LabelSet};
    let _turn = serial();
    set_block_profile_rate(1).unwrap();
    set_mutex_profile_fraction(1).unwrap();
    const N: u64 = 3;
    let lock = Arc::new(Mutex::new(()));
    let guard = lock.lock();
    let threads: Vec<_> = (0..N)
        .map(|i| {
            let lock = Arc::clone(&lock);
            let kind = if i == 0 { "export" } else { "summary" };
            thread::spawn(move || {
                labels::with(LabelSet::new(&[("kind", kind)]), || {
                    let g = lock.lock();
                    thread::sleep(Duration::from_millis(2));
                    drop(g);
                })
            })
        })
        .collect();
    while lock.waiting() < N {
        thread::yield_now();
    }
    labels::with(LabelSet::new(&[("kind", "main")]), || drop(guard));
    for t in threads {
        t.join().unwrap();
    }
    set_block_profile_rate(0).unwrap();
    set_mutex_profile_fraction(0).unwrap();
    let by_kind = |p: &Profile| {
        let mut counts = std::collections::BTreeMap::new();
        for s in &p.samples {
            *counts
                .entry(s.label("kind").unwrap_or("").to_string())
                .or_insert(0) += s.values[0];
        }
        counts
    };
    let block = by_kind(block_profile().profile());
    assert_eq!(
        block,
        [("export".to_string(), 1), ("summary".to_string(), 2)].into(),
        "block events by kind"
    );
    // Every release but the last waiter's let someone in: main's and two of
    // the three waiters'.
    let mutex = by_kind(mutex_profile().profile());
    assert_eq!(mutex.values().sum::<i64>(), N as i64, "{mutex:?}");
    assert_eq!(mutex.get("main"), Some(&1), "{mutex:?}");
}
