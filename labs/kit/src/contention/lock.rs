//! `Mutex` and `RwLock` over parking_lot that feed the block and mutex
//! profiles.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;
use std::time::Instant;

use super::locks_profiled;
use super::record::{GENERATION, PendingWait, before_wait, block_event, mutex_event};

/// Nanoseconds since the first call: the clock of the wait bookkeeping.
pub(super) fn now_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Who is waiting on one lock, and how much waiting has piled up.
///
/// `waited` is the integral of the number of waiters over time, in
/// waiter-nanoseconds; `charged` is how much of it contended releases have
/// already been charged for. A contended release is charged the difference:
/// the waiting of every thread it kept waiting since the last one.
#[derive(Default)]
struct Waits {
    waiters: u64,
    waited: u128,
    charged: u128,
    last: u64,
    /// The profile generation this bookkeeping belongs to (see `reset`).
    generation: u64,
}

impl Waits {
    const fn new() -> Waits {
        Waits {
            waiters: 0,
            waited: 0,
            charged: 0,
            last: 0,
            generation: 0,
        }
    }

    fn advance(&mut self, now: u64) {
        let since = now.saturating_sub(self.last);
        self.waited += u128::from(since) * u128::from(self.waiters);
        self.last = self.last.max(now);
    }
}

/// The bookkeeping both wrappers share. It is guarded by a plain
/// parking_lot mutex, touched only while a profile is on.
struct Tracker {
    waits: parking_lot::Mutex<Waits>,
}

impl Tracker {
    const fn new() -> Tracker {
        Tracker {
            waits: parking_lot::const_mutex(Waits::new()),
        }
    }

    /// Call before blocking; returns the start of the wait and, if the
    /// block profile is on, the waiter's stack (taken now, while waiting
    /// costs nobody else anything).
    fn begin_wait(&self) -> (u64, PendingWait) {
        // The clock starts before the stack walk: the walk happens while
        // the lock is held by another thread, so its time is waiting too.
        let now = now_ns();
        let pending = before_wait();
        let mut w = self.waits.lock();
        w.advance(now);
        // Waiting left over from before a `reset()` belongs to the old
        // profile: write it off when the first wait of the new one starts.
        let generation = GENERATION.load(std::sync::atomic::Ordering::Relaxed);
        if w.generation != generation {
            w.generation = generation;
            w.charged = w.waited;
        }
        w.waiters += 1;
        (now, pending)
    }

    /// Call once the lock is held after a wait that began at `start`.
    fn end_wait(&self, (start, pending): (u64, PendingWait)) {
        let now = now_ns();
        {
            let mut w = self.waits.lock();
            w.advance(now);
            w.waiters -= 1;
        }
        block_event(pending, now.saturating_sub(start));
    }

    // ANCHOR: release_charge
    /// At a release: the waiting to charge the releaser with, if anyone is
    /// still waiting (that is, if this release is contended).
    fn release_charge(&self) -> Option<u64> {
        let mut w = self.waits.lock();
        w.advance(now_ns());
        let charge = w.waited - w.charged;
        w.charged = w.waited;
        // Uncontended: whatever accrued (say, while profiling was off) is
        // written off here, not billed to some later release.
        if w.waiters == 0 {
            return None;
        }
        Some(u64::try_from(charge).unwrap_or(u64::MAX))
    }
    // ANCHOR_END: release_charge

    /// Releases a tracked guard: charges the release, lets the inner guard
    /// go (the lock is free from here), then records the event. Releasing
    /// first matters: the stack walk takes microseconds, and the waiters
    /// should not wait for the profiler.
    fn release<G>(&self, guard: &mut Option<G>) {
        let charge = self.release_charge();
        drop(guard.take());
        if let Some(delay) = charge {
            mutex_event(delay);
        }
    }

    /// Takes a lock through `try_take`, or, if it is held, through `take`,
    /// timing the wait for the block profile.
    fn acquire<G>(&self, try_take: impl FnOnce() -> Option<G>, take: impl FnOnce() -> G) -> G {
        match try_take() {
            Some(guard) => guard,
            None => {
                let start = self.begin_wait();
                let guard = take();
                self.end_wait(start);
                guard
            }
        }
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
        self.tracker.waits.lock().waiters
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
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        if !locks_profiled() {
            return MutexGuard {
                lock: self,
                inner: Some(self.inner.lock()),
                tracked: false,
            };
        }
        self.lock_profiled()
    }

    #[inline(never)]
    fn lock_profiled(&self) -> MutexGuard<'_, T> {
        let inner = self
            .tracker
            .acquire(|| self.inner.try_lock(), || self.inner.lock());
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
    #[inline]
    fn drop(&mut self) {
        if !self.tracked {
            return; // the inner guard releases the lock as it drops
        }
        self.lock.tracker.release(&mut self.inner);
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
    #[inline]
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        let tracked = locks_profiled();
        let inner = if tracked {
            self.tracker
                .acquire(|| self.inner.try_read(), || self.inner.read())
        } else {
            self.inner.read()
        };
        RwLockReadGuard {
            lock: self,
            inner: Some(inner),
            tracked,
        }
    }

    #[inline]
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        let tracked = locks_profiled();
        let inner = if tracked {
            self.tracker
                .acquire(|| self.inner.try_write(), || self.inner.write())
        } else {
            self.inner.write()
        };
        RwLockWriteGuard {
            lock: self,
            inner: Some(inner),
            tracked,
        }
    }

    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        self.inner.try_read().map(|inner| RwLockReadGuard {
            lock: self,
            inner: Some(inner),
            tracked: locks_profiled(),
        })
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
    #[inline]
    fn drop(&mut self) {
        if !self.tracked {
            return;
        }
        self.lock.tracker.release(&mut self.inner);
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if !self.tracked {
            return;
        }
        self.lock.tracker.release(&mut self.inner);
    }
}
