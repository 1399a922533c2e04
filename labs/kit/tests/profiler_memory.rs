//! The profilers give their memory back: once a profile is written, what
//! the process still holds for them is at most [`BUDGET`].
//!
//! Before, a service carried two large things for good: the debug
//! information loaded to name the stacks (about 50 MB in a debug build,
//! loaded when block profiling was turned on so that the first profile
//! would not stall waits), and pprof-rs's sample table (4 096 × 4 stacks of
//! 128 frames, 64 MiB, allocated anew each time a capture stopped). The
//! heap profile of an idle Day 089 service showed the profiler, not the
//! service.
//!
//! A counting allocator measures the bytes live at each step. This file
//! holds one test, so nothing else in its process allocates meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use labkit::capture::{Capture, until_sampled};
use labkit::contention;

/// What the profilers may keep between profiles.
const BUDGET: isize = 16 << 20;

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; the
// counter only observes sizes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's arguments.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

fn mib(bytes: isize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

#[test]
fn profilers_hold_little_once_their_profiles_are_written() {
    let at_start = live();

    // Block profiling on, some waits, a profile written, profiling off.
    contention::set_block_profile_rate(1).unwrap();
    let on = live() - at_start;
    let (tx, rx) = contention::bounded::<u32>(0);
    let echo = std::thread::spawn(move || rx.iter().count());
    for v in 0..100 {
        tx.send(v).unwrap();
    }
    drop(tx);
    echo.join().unwrap();
    let mut written = Vec::new();
    contention::block_profile()
        .write_pprof(&mut written)
        .unwrap();
    assert!(!written.is_empty());
    contention::set_block_profile_rate(0).unwrap();
    let after_block = live() - at_start;

    // Three CPU captures, each with samples, each written.
    for _ in 0..3 {
        let capture = Capture::start().unwrap();
        let mut x = 1;
        for _ in until_sampled(1, 50) {
            x = labkit::work::burn(1, x);
        }
        std::hint::black_box(x);
        let profile = capture.stop().unwrap();
        let mut bytes = Vec::new();
        profile.write_pprof(&mut bytes).unwrap();
        drop(profile);
    }
    let after_cpu = live() - at_start;

    eprintln!(
        "held: block profiling on {}, after a block profile {}, after 3 CPU captures {}",
        mib(on),
        mib(after_block),
        mib(after_cpu)
    );
    assert!(on <= BUDGET, "turning block profiling on holds {}", mib(on));
    assert!(
        after_block <= BUDGET,
        "after a block profile was written, {} is still held",
        mib(after_block)
    );
    assert!(
        after_cpu <= BUDGET,
        "after three CPU captures, {} is still held",
        mib(after_cpu)
    );
}
