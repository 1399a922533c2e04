//! `Mutex` and `RwLock` over parking_lot that feed the block and mutex
//! profiles.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::locks_profiled;
use super::record::{
    GENERATION, PendingWait, before_wait, block_event, keep_callers_frame, mutex_event,
};

/// Nanoseconds since the first call: the clock of the wait bookkeeping.
pub(super) fn now_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// How much waiting has piled up on one lock.
///
/// `waited` is the integral of the number of waiters over time, in
/// waiter-nanoseconds; `charged` is how much of it contended releases have
/// already been charged for. A contended release is charged the difference:
/// the waiting of every thread it kept waiting since the last one.
#[derive(Default)]
struct Waits {
    waited: u128,
    charged: u128,
    last: u64,
    /// The profile generation this bookkeeping belongs to (see `reset`).
    generation: u64,
}

impl Waits {
    const fn new() -> Waits {
        Waits {
            waited: 0,
            charged: 0,
            last: 0,
            generation: 0,
        }
    }

    fn advance(&mut self, now: u64, waiters: u64) {
        let since = now.saturating_sub(self.last);
        self.waited += u128::from(since) * u128::from(waiters);
        self.last = self.last.max(now);
    }
}

/// The bookkeeping both wrappers share, touched only while a profile is on.
/// A release reads `waiters` alone, without a lock or a clock: an
/// uncontended lock stays almost as cheap as a bare one.
struct Tracker {
    /// Threads waiting for the lock now; changed only under `waits`.
    waiters: AtomicU64,
    /// Tracked readers holding an `RwLock` now (0 for a `Mutex`).
    readers: AtomicU64,
    waits: parking_lot::Mutex<Waits>,
}

impl Tracker {
    const fn new() -> Tracker {
        Tracker {
            waiters: AtomicU64::new(0),
            readers: AtomicU64::new(0),
            waits: parking_lot::const_mutex(Waits::new()),
        }
    }

    /// Whether anyone waits for the lock: whether releasing it now is a
    /// contended release. One relaxed load.
    #[inline]
    fn contended(&self) -> bool {
        self.waiters.load(Ordering::Relaxed) > 0
    }

    /// Call before blocking; returns the start of the wait and its sampling
    /// decision.
    fn begin_wait(&self) -> (u64, PendingWait) {
        let now = now_ns();
        let pending = before_wait();
        let mut w = self.waits.lock();
        let waiters = self.waiters.load(Ordering::Relaxed);
        w.advance(now, waiters);
        // Waiting left over from before a `reset()` belongs to the old
        // profile, and so does whatever no contended release was charged
        // for before the lock had no waiter (the wake-up of the last one):
        // write it off when the first wait starts.
        let generation = GENERATION.load(Ordering::Relaxed);
        if w.generation != generation || waiters == 0 {
            w.generation = generation;
            w.charged = w.waited;
        }
        self.waiters.store(waiters + 1, Ordering::Relaxed);
        (now, pending)
    }

    /// Call once the lock is held after a wait that began at `start`.
    fn end_wait(&self, (start, pending): (u64, PendingWait)) {
        let now = now_ns();
        {
            let mut w = self.waits.lock();
            w.advance(now, self.waiters.load(Ordering::Relaxed));
            self.waiters.fetch_sub(1, Ordering::Relaxed);
        }
        block_event(pending, now.saturating_sub(start));
    }

    // ANCHOR: release_charge
    /// At a contended release: the waiting to charge the releaser with, if
    /// anyone is still waiting.
    fn release_charge(&self) -> Option<u64> {
        let mut w = self.waits.lock();
        let waiters = self.waiters.load(Ordering::Relaxed);
        w.advance(now_ns(), waiters);
        if waiters == 0 {
            return None;
        }
        let charge = w.waited - w.charged;
        w.charged = w.waited;
        Some(u64::try_from(charge).unwrap_or(u64::MAX))
    }
    // ANCHOR_END: release_charge

    /// Releases a tracked guard while threads wait: charges the release,
    /// lets the inner guard go (the lock is free from here), then records
    /// the event. Releasing first matters: the stack walk takes
    /// microseconds, and the waiters should not wait for the profiler.
    #[cold]
    #[inline(never)]
    fn release<G>(&self, guard: &mut Option<G>) {
        let charge = self.release_charge();
        drop(guard.take());
        if let Some(delay) = charge {
            mutex_event(delay);
        }
    }

    /// Waits for a lock through `take`, timing the wait for the block
    /// profile. A wait that will be kept walks its stack while it still
    /// waits: `take_within(threshold)` gives up once the wait is long
    /// enough to be kept, the stack is walked, and `take` waits the rest.
    /// (If the timer comes late and the lock arrives first, the stack is
    /// walked after the wait, by `end_wait`.)
    #[cold]
    #[inline(never)]
    fn acquire<G>(
        &self,
        take_within: impl FnOnce(Duration) -> Option<G>,
        take: impl FnOnce() -> G,
    ) -> G {
        let (start, mut pending) = self.begin_wait();
        let guard = match pending.threshold_ns() {
            None => take(),
            Some(0) => {
                pending.walk_now();
                take()
            }
            Some(threshold) => match take_within(Duration::from_nanos(threshold)) {
                Some(guard) => guard,
                None => {
                    pending.walk_now();
                    take()
                }
            },
        };
        self.end_wait((start, pending));
        guard
    }
}

/// A mutual-exclusion lock: `parking_lot::Mutex` with contention profiling.
pub struct Mutex<T: ?Sized> {
    tracker: Tracker,
    inner: parking_lot::Mutex<T>,
}

/// The guard of a [`Mutex`]; the lock is released when it is dropped.
pub struct MutexGuard<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
    /// `None` only inside `drop`, after the inner guard is released.
    inner: Option<parking_lot::MutexGuard<'a, T>>,
    tracked: bool,
}

impl<T: ?Sized> Mutex<T> {
    /// Threads waiting for this lock now (counted only while a profile is
    /// on). For tests that must know every thread is queued.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) fn waiting(&self) -> u64 {
        self.tracker.waiters.load(Ordering::Relaxed)
    }
}

impl<T> Mutex<T> {
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            tracker: Tracker::new(),
            inner: parking_lot::const_mutex(value),
        }
    }

    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Takes the lock, waiting if another thread holds it.
    #[inline(always)]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        if !locks_profiled() {
            return MutexGuard {
                lock: self,
                inner: Some(self.inner.lock()),
                tracked: false,
            };
        }
        let inner = match self.inner.try_lock() {
            Some(inner) => inner,
            None => {
                let inner = self
                    .tracker
                    .acquire(|t| self.inner.try_lock_for(t), || self.inner.lock());
                keep_callers_frame();
                inner
            }
        };
        MutexGuard {
            lock: self,
            inner: Some(inner),
            tracked: true,
        }
    }

    /// Takes the lock if it is free; never waits, so never profiled.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.inner.try_lock().map(|inner| MutexGuard {
            lock: self,
            inner: Some(inner),
            tracked: locks_profiled(),
        })
    }

    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mutex")
            .field("inner", &&self.inner)
            .finish()
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        self.inner.as_deref().expect("a live guard holds its lock")
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        self.inner
            .as_deref_mut()
            .expect("a live guard holds its lock")
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        // Untracked or uncontended: the inner guard releases the lock as it
        // drops, and there is nothing to record.
        if self.tracked && self.lock.tracker.contended() {
            self.lock.tracker.release(&mut self.inner);
            keep_callers_frame();
        }
    }
}

/// A reader-writer lock: `parking_lot::RwLock` with contention profiling.
/// Waits for either side go to the block profile; a release of either side
/// that leaves threads waiting goes to the mutex profile, as Go's
/// `sync.RWMutex` does.
pub struct RwLock<T: ?Sized> {
    tracker: Tracker,
    inner: parking_lot::RwLock<T>,
}

/// Shared access to an [`RwLock`].
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    inner: Option<parking_lot::RwLockReadGuard<'a, T>>,
    tracked: bool,
}

/// Exclusive access to an [`RwLock`].
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    inner: Option<parking_lot::RwLockWriteGuard<'a, T>>,
    tracked: bool,
}

impl<T: ?Sized> RwLock<T> {
    /// Threads waiting for this lock now, either side (counted only while a
    /// profile is on). For tests that must know every thread is queued.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) fn waiting(&self) -> u64 {
        self.tracker.waiters.load(Ordering::Relaxed)
    }
}

impl<T> RwLock<T> {
    pub const fn new(value: T) -> RwLock<T> {
        RwLock {
            tracker: Tracker::new(),
            inner: parking_lot::const_rwlock(value),
        }
    }

    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    #[inline(always)]
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        if !locks_profiled() {
            return self.read_guard(self.inner.read(), false);
        }
        let inner = match self.inner.try_read() {
            Some(inner) => inner,
            None => {
                let inner = self
                    .tracker
                    .acquire(|t| self.inner.try_read_for(t), || self.inner.read());
                keep_callers_frame();
                inner
            }
        };
        self.read_guard(inner, true)
    }

    #[inline(always)]
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        let tracked = locks_profiled();
        let inner = if !tracked {
            self.inner.write()
        } else {
            match self.inner.try_write() {
                Some(inner) => inner,
                None => {
                    let inner = self
                        .tracker
                        .acquire(|t| self.inner.try_write_for(t), || self.inner.write());
                    keep_callers_frame();
                    inner
                }
            }
        };
        RwLockWriteGuard {
            lock: self,
            inner: Some(inner),
            tracked,
        }
    }

    /// A read guard; a tracked one is counted among the readers, so that
    /// only the last to leave is charged for a waiting writer.
    #[inline]
    fn read_guard<'a>(
        &'a self,
        inner: parking_lot::RwLockReadGuard<'a, T>,
        tracked: bool,
    ) -> RwLockReadGuard<'a, T> {
        if tracked {
            self.tracker.readers.fetch_add(1, Ordering::Relaxed);
        }
        RwLockReadGuard {
            lock: self,
            inner: Some(inner),
            tracked,
        }
    }

    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        self.inner
            .try_read()
            .map(|inner| self.read_guard(inner, locks_profiled()))
    }

    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        self.inner.try_write().map(|inner| RwLockWriteGuard {
            lock: self,
            inner: Some(inner),
            tracked: locks_profiled(),
        })
    }

    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLock")
            .field("inner", &&self.inner)
            .finish()
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        self.inner.as_deref().expect("a live guard holds its lock")
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        self.inner.as_deref().expect("a live guard holds its lock")
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        self.inner
            .as_deref_mut()
            .expect("a live guard holds its lock")
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        if !self.tracked {
            return;
        }
        // Only the last reader out hands the lock to a waiting writer: the
        // others' releases make nobody wait less, so they record nothing,
        // and the writer's wait is counted once, as Go counts it.
        let last_reader = self.lock.tracker.readers.fetch_sub(1, Ordering::Relaxed) == 1;
        if last_reader && self.lock.tracker.contended() {
            self.lock.tracker.release(&mut self.inner);
            keep_callers_frame();
        }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        // Untracked or uncontended: the inner guard releases the lock as it
        // drops, and there is nothing to record.
        if self.tracked && self.lock.tracker.contended() {
            self.lock.tracker.release(&mut self.inner);
            keep_callers_frame();
        }
    }
}
