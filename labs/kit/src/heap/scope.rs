//! The recorder (feature `heap`): dhat for the length of a scope.

use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use super::{HEAP_FILE, parse};
use crate::Error;

/// A heap profile that lasts as long as a scope: dhat records every
/// allocation from its creation, and when it is dropped writes
/// `dhat-heap.json` into the directory. dhat writes to a temporary name;
/// the scope checks that dhat finished the file (dhat reports a failed
/// write on stderr, never to its caller) and only then renames it into
/// place, so a reader never sees half a file. If the profile cannot be
/// saved, the old file stays, and the scope says why and ends the process
/// with exit code 1.
///
/// Bind it to a **name** (`let _heap = HeapScope::start(dir)?;`):
/// `let _ = …` drops it, and writes the profile, on the same line.
pub struct HeapScope {
    profiler: Option<dhat::Profiler>,
    tmp: Option<NamedTempFile>,
    path: PathBuf,
}

impl HeapScope {
    pub fn start(dir: &Path) -> Result<HeapScope, Error> {
        if !dir.is_dir() {
            return Err(Error::new(format!(
                "cannot profile the heap into {}: not a directory",
                dir.display()
            )));
        }
        let path = dir.join(HEAP_FILE);
        let tmp = crate::atomic::temp_beside(&path)?;
        // dhat allows one profiler per process and panics on a second.
        if ACTIVE.swap(true, std::sync::atomic::Ordering::AcqRel) {
            return Err(Error::new(
                "a heap profile is already being recorded: dhat allows one at a time",
            ));
        }
        let profiler = dhat::Profiler::builder()
            .file_name(tmp.path())
            .trim_backtraces(Some(16))
            .build();
        Ok(HeapScope {
            profiler: Some(profiler),
            tmp: Some(tmp),
            path,
        })
    }
}

impl HeapScope {
    /// Ends the recording now (dhat writes its file) and stages the
    /// profile into `batch` instead of putting it in place: a program
    /// that writes other files from the same run commits them together
    /// ([`crate::atomic::Batch::commit`]), so that a new profile never
    /// sits beside old results when the disk fills between the two.
    pub fn stop_into(mut self, batch: &mut crate::atomic::Batch) -> Result<(), Error> {
        drop(self.profiler.take());
        ACTIVE.store(false, std::sync::atomic::Ordering::Release);
        let Some(tmp) = self.tmp.take() else {
            return Err(Error::new("the heap profile was already written"));
        };
        let bytes = std::fs::read(tmp.path())
            .map_err(|e| Error::io(format!("cannot read back {}", tmp.path().display()), e))?;
        if let Err(e) = parse(tmp.path(), &bytes) {
            return Err(Error::new(format!(
                "dhat did not write a whole profile ({e}); {} was left as it was",
                self.path.display()
            )));
        }
        batch.add(tmp, &self.path)
    }
}

impl Drop for HeapScope {
    fn drop(&mut self) {
        // dhat writes its file (and prints its totals) as it is dropped.
        drop(self.profiler.take());
        ACTIVE.store(false, std::sync::atomic::Ordering::Release);
        let Some(tmp) = self.tmp.take() else { return };
        if let Err(e) = finish(tmp, &self.path) {
            crate::out::scope_failed("the heap profile", &e);
        }
    }
}

/// Puts dhat's file in place if it is a whole profile.
fn finish(tmp: NamedTempFile, path: &Path) -> Result<(), Error> {
    crate::atomic::persist_checked(
        tmp,
        path,
        "dhat did not write a whole profile",
        |p, bytes| parse(p, bytes).map(drop),
    )
}

/// Set while a [`HeapScope`] records.
static ACTIVE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
