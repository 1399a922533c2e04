//! Serving connections without spinning: an accept loop that backs off
//! when accepting fails.
//!
//! `accept` fails for reasons that last: out of file descriptors (EMFILE,
//! ENFILE) above all, when every connection holds one. Retrying at once
//! fails again at once, and a loop that logs each failure burns a core and
//! floods its log while it achieves nothing. Go's `http.Server.Serve`
//! sleeps after a failed accept, 5 ms doubled at each further failure up
//! to 1 s, and starts over from 5 ms at the next success; [`Acceptor`]
//! does the same, and logs a failure at most once per [`LOG_EVERY`],
//! saying how many it did not print.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};

/// The first wait after a failed accept; it doubles at each further one.
pub const FIRST_DELAY: Duration = Duration::from_millis(5);
/// The longest wait between two attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(1);
/// At most one log line per this long about failing accepts.
pub const LOG_EVERY: Duration = Duration::from_secs(1);

/// A listener whose [`accept`](Acceptor::accept) waits and retries, never
/// spins, when accepting fails.
pub struct Acceptor {
    listener: TcpListener,
    delay: Option<Duration>,
    last_log: Option<Instant>,
    unlogged: u64,
}

impl Acceptor {
    pub fn new(listener: TcpListener) -> Acceptor {
        Acceptor {
            listener,
            delay: None,
            last_log: None,
            unlogged: 0,
        }
    }

    /// The next connection. A failed accept is logged (see [`LOG_EVERY`]),
    /// waited out and retried.
    pub async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            match self.listener.accept().await {
                Ok(accepted) => {
                    self.delay = None;
                    return accepted;
                }
                Err(e) => {
                    let delay = self.delay.map_or(FIRST_DELAY, |d| (d * 2).min(MAX_DELAY));
                    self.delay = Some(delay);
                    self.log(&e, delay);
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    fn log(&mut self, e: &std::io::Error, delay: Duration) {
        let now = Instant::now();
        if self.last_log.is_some_and(|at| now < at + LOG_EVERY) {
            self.unlogged += 1;
            return;
        }
        let unlogged = std::mem::take(&mut self.unlogged);
        let more = if unlogged > 0 {
            format!(" ({unlogged} more since the last line)")
        } else {
            String::new()
        };
        eprintln!("accept failed: {e}; retrying in {delay:?}{more}");
        self.last_log = Some(now);
    }
}
