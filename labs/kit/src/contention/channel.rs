//! crossbeam-channel with waits recorded in the block profile.
//!
//! A send into a full channel and a receive from an empty one are the
//! channel's waits; both are charged to the waiting thread's stack, as Go
//! charges `chan send` and `chan receive`.

use std::time::{Duration, Instant};

use crossbeam_channel as cb;
pub use crossbeam_channel::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};

use super::channels_profiled;
use super::lock::now_ns;
use super::record::{before_wait, block_event, keep_callers_frame};

/// A channel of capacity `cap` (0: every send waits for a receiver).
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let (s, r) = cb::bounded(cap);
    (Sender { inner: s }, Receiver { inner: r })
}

/// A channel without a capacity: sends never wait.
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    let (s, r) = cb::unbounded();
    (Sender { inner: s }, Receiver { inner: r })
}

/// The sending side; clone it for more producers.
pub struct Sender<T> {
    inner: cb::Sender<T>,
}

/// The receiving side; clone it for more consumers.
pub struct Receiver<T> {
    inner: cb::Receiver<T>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting for room if the channel is full.
    #[inline(always)]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if !channels_profiled() {
            return self.inner.send(value);
        }
        let result = self.send_profiled(value);
        keep_callers_frame();
        result
    }

    #[inline(never)]
    fn send_profiled(&self, value: T) -> Result<(), SendError<T>> {
        match self.inner.try_send(value) {
            Ok(()) => Ok(()),
            Err(TrySendError::Disconnected(v)) => Err(SendError(v)),
            Err(TrySendError::Full(v)) => {
                let start = now_ns();
                let pending = before_wait();
                let result = self.inner.send(v);
                // The stack is walked here, after the wait, and only if
                // the wait is kept: a sender holds no lock anybody needs.
                block_event(pending, now_ns().saturating_sub(start));
                result
            }
        }
    }

    /// Sends `value`, waiting at most `timeout` for room; the wait is
    /// recorded like any.
    #[inline(always)]
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        if !channels_profiled() {
            return self.inner.send_timeout(value, timeout);
        }
        let result = self.send_timeout_profiled(value, timeout);
        keep_callers_frame();
        result
    }

    #[inline(never)]
    fn send_timeout_profiled(
        &self,
        value: T,
        timeout: Duration,
    ) -> Result<(), SendTimeoutError<T>> {
        let deadline = Instant::now() + timeout;
        match self.inner.try_send(value) {
            Ok(()) => Ok(()),
            Err(TrySendError::Disconnected(v)) => Err(SendTimeoutError::Disconnected(v)),
            Err(TrySendError::Full(v)) => {
                let start = now_ns();
                let pending = before_wait();
                let result = self.inner.send_deadline(v, deadline);
                block_event(pending, now_ns().saturating_sub(start));
                result
            }
        }
    }

    /// Sends without waiting; never profiled.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.inner.try_send(value)
    }

    pub fn len(&self) -> usize {
        self.inner.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    pub fn capacity(&self) -> Option<usize> {
        self.inner.capacity()
    }

    /// The wrapped crossbeam sender, for `select!`. Waits through it are not
    /// recorded.
    pub fn inner(&self) -> &cb::Sender<T> {
        &self.inner
    }
}

impl<T> Receiver<T> {
    /// Receives a value, waiting for one if the channel is empty. Fails once
    /// the channel is empty and every sender is gone.
    #[inline(always)]
    pub fn recv(&self) -> Result<T, RecvError> {
        if !channels_profiled() {
            return self.inner.recv();
        }
        let result = self.recv_profiled();
        keep_callers_frame();
        result
    }

    #[inline(never)]
    fn recv_profiled(&self) -> Result<T, RecvError> {
        match self.inner.try_recv() {
            Ok(v) => Ok(v),
            Err(TryRecvError::Disconnected) => Err(RecvError),
            Err(TryRecvError::Empty) => {
                let start = now_ns();
                let pending = before_wait();
                let result = self.inner.recv();
                block_event(pending, now_ns().saturating_sub(start));
                result
            }
        }
    }

    /// Receives, waiting at most `timeout`; the wait is recorded like any.
    #[inline(always)]
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        if !channels_profiled() {
            return self.inner.recv_timeout(timeout);
        }
        let result = self.recv_timeout_profiled(timeout);
        keep_callers_frame();
        result
    }

    #[inline(never)]
    fn recv_timeout_profiled(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        match self.inner.try_recv() {
            Ok(v) => Ok(v),
            Err(TryRecvError::Disconnected) => Err(RecvTimeoutError::Disconnected),
            Err(TryRecvError::Empty) => {
                let start = now_ns();
                let pending = before_wait();
                let result = self.inner.recv_timeout(timeout);
                block_event(pending, now_ns().saturating_sub(start));
                result
            }
        }
    }

    /// Receives without waiting; never profiled.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.inner.try_recv()
    }

    /// Values until the channel is empty and every sender is gone.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    pub fn len(&self) -> usize {
        self.inner.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    pub fn capacity(&self) -> Option<usize> {
        self.inner.capacity()
    }

    /// The wrapped crossbeam receiver, for `select!`. Waits through it are
    /// not recorded.
    pub fn inner(&self) -> &cb::Receiver<T> {
        &self.inner
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Receiver {
            inner: self.inner.clone(),
        }
    }
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sender { .. }")
    }
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Receiver { .. }")
    }
}

/// A blocking iterator over received values.
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

/// An owning blocking iterator, for `for job in rx`.
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}
