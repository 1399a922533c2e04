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

/// Starts `exe --out dir args…` as a service.
pub type Launch = fn(exe: &Path, dir: &Path, args: &[&str]) -> Result<Box<dyn Service>, String>;
