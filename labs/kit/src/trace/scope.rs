//! The recorder (feature `trace`): tracing-chrome for the length of a scope.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tempfile::NamedTempFile;

use super::{TRACE_FILE, parse};
use crate::Error;

/// A trace that lasts as long as a scope. `start` installs a tracing-chrome
/// layer as the process's subscriber; every span entered from then on is
/// recorded. tracing-chrome writes from a background thread, and the file
/// is finished — its closing `]` written and flushed — only when the
/// layer's flush guard is dropped; this scope holds that guard, and when
/// dropped, finishes the file under a temporary name, checks that every
/// write succeeded, and renames it into place. If the trace cannot be
/// saved, the old file stays, and the scope says why and ends the process
/// with exit code 1.
///
/// Bind it to a **name** (`let _trace = TraceScope::start(dir)?;`).
/// `let _ = …` drops the guard on that line: the file is finished at once,
/// and every span after it is lost.
pub struct TraceScope {
    guard: Option<tracing_chrome::FlushGuard>,
    tmp: Option<NamedTempFile>,
    failed: Arc<Mutex<Option<std::io::Error>>>,
    path: PathBuf,
}

impl TraceScope {
    pub fn start(dir: &Path) -> Result<TraceScope, Error> {
        use tracing_subscriber::prelude::*;
        let path = dir.join(TRACE_FILE);
        let tmp = crate::atomic::temp_beside(&path)?;
        let file = tmp
            .as_file()
            .try_clone()
            .map_err(|e| Error::io(format!("cannot open {}", tmp.path().display()), e))?;
        let failed = Arc::new(Mutex::new(None));
        let writer = Recording {
            file,
            failed: Arc::clone(&failed),
        };
        let (layer, guard) = tracing_chrome::ChromeLayerBuilder::new()
            .writer(writer)
            .build();
        if let Err(e) = tracing_subscriber::registry().with(layer).try_init() {
            drop(guard);
            return Err(Error::new(format!(
                "cannot install the trace subscriber (is another one installed?): {e}"
            )));
        }
        Ok(TraceScope {
            guard: Some(guard),
            tmp: Some(tmp),
            failed,
            path,
        })
    }
}

impl Drop for TraceScope {
    fn drop(&mut self) {
        // Dropping the guard makes the writer thread close the JSON array,
        // flush, and exit; only then is the file whole.
        drop(self.guard.take());
        let Some(tmp) = self.tmp.take() else { return };
        if let Err(e) = self.finish(tmp) {
            crate::out::scope_failed("the trace", &e);
        }
    }
}

impl TraceScope {
    /// Puts the trace in place if every write succeeded and it reads back.
    fn finish(&self, tmp: NamedTempFile) -> Result<(), Error> {
        let failed = self.failed.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(e) = failed {
            return Err(Error::new(format!(
                "cannot write {}: {e}; it was left as it was",
                self.path.display()
            )));
        }
        crate::atomic::persist_checked(
            tmp,
            &self.path,
            "tracing-chrome did not write a whole trace",
            |p, bytes| parse(p, bytes).map(drop),
        )
    }
}

/// The file tracing-chrome writes into. Its writer thread unwraps every
/// write, so a failed one (a full disk) would panic that thread and leave a
/// cut-off file that looks finished. This writer keeps the first error for
/// the scope to report and drops everything after it, so the thread runs
/// to its end and the scope knows the file is incomplete.
struct Recording {
    file: std::fs::File,
    failed: Arc<Mutex<Option<std::io::Error>>>,
}

impl Recording {
    fn keep<T>(&mut self, result: std::io::Result<T>, or: T) -> std::io::Result<T> {
        let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        if failed.is_some() {
            return Ok(or);
        }
        result.or_else(|e| {
            *failed = Some(e);
            Ok(or)
        })
    }
}

impl Write for Recording {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self
            .failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
        {
            return Ok(buf.len());
        }
        let result = self.file.write(buf);
        self.keep(result, buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let result = self.file.flush();
        self.keep(result, ())
    }
}
