//! What a day's check needs from a service it runs (Days 088 and 089).
//!
//! The check is curriculum: it knows which requests and signals prove the
//! fix. Starting the program as a child process and stopping it again is
//! test plumbing, and lives in the `selfcheck` crate, which hands the
//! check a [`Launch`] function. So the lab's own program never links the
//! process handling its tests use.

use std::path::Path;
use std::process::ExitStatus;

/// A running service, as a check sees it. Dropping it stops the service.
pub trait Service {
    /// The first line the service printed (where it listens).
    fn first_line(&mut self) -> Result<String, String>;
    /// Sends the service a signal by name (`QUIT`, `TERM`).
    fn signal(&self, name: &str) -> std::io::Result<()>;
    /// How the service ended, if it has.
    fn exited(&mut self) -> Option<ExitStatus>;
    /// The service's process id.
    fn id(&self) -> u32;
}

/// Set by a test that starts a program as a service, with the program's
/// stdin a pipe the test holds: the program then stops when that pipe
/// closes. A test killed half-way (`timeout` sends SIGTERM, a CI runner
/// SIGKILL) runs no destructor and sends no signal, but the kernel closes
/// its end of the pipe all the same, so its services never outlive it.
/// A learner's own `cargo run` leaves the variable unset and stdin alone.
pub const STOP_WITH_STDIN: &str = "WORKBOOK_STOP_WITH_STDIN";

/// When [`STOP_WITH_STDIN`] is set, watches stdin on a thread of its own
/// and ends the process once it reaches its end.
pub fn stop_with_stdin_if_asked() {
    if std::env::var_os(STOP_WITH_STDIN).is_none() {
        return;
    }
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        eprintln!("stdin closed: the test that started this service is gone; stopping");
        std::process::exit(1);
    });
}

/// Starts `exe --out dir args…` as a service.
pub type Launch = fn(exe: &Path, dir: &Path, args: &[&str]) -> Result<Box<dyn Service>, String>;
