//! Stopping a service promptly: one process-wide "stop" that long waits
//! (a CPU capture's `seconds`, a delta profile's, a trace's) watch, so
//! that a SIGTERM ends them at once instead of after their full length.
//!
//! Go's `http.Server.Shutdown` closes the listeners and waits for the
//! requests in flight; a capture in flight would still hold it for up to
//! its `seconds`. Here the first stop signal calls [`request`]: every wait
//! made through [`sleep`] (threads) or [`sleep_async`] (tasks) returns
//! [`Cancelled`] within a few milliseconds, its handler answers 503 with
//! the reason, and [`crate::net::serve`] gives the other requests a short
//! grace ([`crate::net::SHUTDOWN_GRACE`]) before it returns. A second
//! signal ends the process at once ([`crate::net::stop_signal`]).

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

static STOPPING: Mutex<bool> = Mutex::new(false);
static WAKE: Condvar = Condvar::new();

/// A wait that ended early because the process is stopping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

/// What a cancelled capture's client is told.
pub const CANCELLED: &str =
    "the service is shutting down: the capture was cancelled before its end";

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(CANCELLED)
    }
}

impl std::error::Error for Cancelled {}

/// Asks every wait to end: the process is stopping.
pub fn request() {
    *STOPPING.lock().unwrap_or_else(|e| e.into_inner()) = true;
    WAKE.notify_all();
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    *STOPPING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sleeps `duration` on this thread, or less if a stop is asked for.
pub fn sleep(duration: Duration) -> Result<(), Cancelled> {
    let until = Instant::now() + duration;
    let mut stopping = STOPPING.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if *stopping {
            return Err(Cancelled);
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        stopping = WAKE
            .wait_timeout(stopping, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

/// [`sleep`] for a task: it looks at the stop every 20 ms, so that a
/// cancelled wait ends within that.
#[cfg(feature = "net")]
pub async fn sleep_async(duration: Duration) -> Result<(), Cancelled> {
    const STEP: Duration = Duration::from_millis(20);
    let until = tokio::time::Instant::now() + duration;
    loop {
        if requested() {
            return Err(Cancelled);
        }
        let now = tokio::time::Instant::now();
        if now >= until {
            return Ok(());
        }
        tokio::time::sleep_until(until.min(now + STEP)).await;
    }
}
