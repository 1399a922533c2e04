//! Turning profiling on loads the debug info; writing the first profile
//! does not. Left to the first profile, the loading happens under the
//! unwinder's process-wide lock, which every kept wait needs to walk its
//! stack: every profiled wait stalls while the profile is written
//! (`tests/contention_stall.rs` measures the stall).
//!
//! The verdict compares CPU time spent by this thread, which a busy machine
//! does not inflate the way it inflates wall time: the first write must
//! cost less than half of what turning profiling on cost. (Measured here:
//! before, turning on took no time and the first write 1.5–2.4 s; after,
//! the loading moved into turning on.) This file holds one test, so that
//! nothing else in its process turns profiling on first.

use std::thread;

use cpu_time::ThreadTime;
use labkit::contention;

#[test]
fn turning_profiling_on_loads_the_debug_info_the_first_profile_needs() {
    let start = ThreadTime::now();
    contention::set_block_profile_rate(1).unwrap();
    let turning_on = start.elapsed();

    // Some waits to record, on the stacks of other threads.
    let (ping_tx, ping_rx) = contention::bounded::<u32>(0);
    let (pong_tx, pong_rx) = contention::bounded::<u32>(0);
    let echo = thread::spawn(move || {
        for v in ping_rx {
            pong_tx.send(v).unwrap();
        }
    });
    for v in 0..200 {
        ping_tx.send(v).unwrap();
        pong_rx.recv().unwrap();
    }
    drop(ping_tx);
    echo.join().unwrap();
    contention::set_block_profile_rate(0).unwrap();

    let start = ThreadTime::now();
    let profile = contention::block_profile();
    let mut bytes = Vec::new();
    profile.write_pprof(&mut bytes).unwrap();
    let first_write = start.elapsed();

    println!(
        "CPU time: turning profiling on {turning_on:?}, the first profile written {first_write:?}"
    );
    assert!(profile.sample_count() > 0, "no wait recorded");
    assert!(
        first_write * 2 < turning_on,
        "the first profile written cost {first_write:?} of CPU, turning profiling on \
         {turning_on:?}: the debug info is loaded while a profile is written, under the lock \
         every profiled wait needs"
    );
}
