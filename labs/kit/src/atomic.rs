//! Atomic file writes: a reader sees the old file or the complete new one,
//! never a half-written one.
//!
//! The recipe is the classic one: write to a temporary file in the *same*
//! directory (a rename is only atomic within one file system), flush the
//! buffer, `fsync` the file so its bytes are on disk before its name is,
//! then rename it over the target. If anything fails, the temporary file is
//! removed and the target is left as it was.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Error;

// ANCHOR: write_with
/// Writes `path` atomically with whatever `fill` writes into the buffered
/// writer it is given.
pub fn write_with<F>(path: &Path, fill: F) -> Result<(), Error>
where
    F: FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
{
    let tmp = temp_path_for(path)?;
    let result = (|| {
        let file = File::create(&tmp)?;
        let mut out = BufWriter::new(file);
        fill(&mut out)?;
        // `into_inner` flushes and reports the error that a silent drop
        // would swallow: this is the step a program that exits early forgets.
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(format!("cannot write {}", path.display()), e));
    }
    // Make the rename itself durable. Not every file system lets a directory
    // be opened for syncing, so a failure here is not an error.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}
// ANCHOR_END: write_with

/// Finishes a file another writer produced under the temporary name `tmp`
/// (dhat, tracing-chrome): fsyncs it and renames it over `path`, so it
/// appears whole or not at all. On failure the temporary file is removed.
pub fn persist(tmp: &Path, path: &Path) -> Result<(), Error> {
    let result = File::open(tmp)
        .and_then(|f| f.sync_all())
        .and_then(|()| fs::rename(tmp, path));
    if let Err(e) = result {
        let _ = fs::remove_file(tmp);
        return Err(Error::io(format!("cannot write {}", path.display()), e));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    write_with(path, |out| out.write_all(bytes))
}

fn temp_path_for(path: &Path) -> Result<PathBuf, Error> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| {
        Error::new(format!(
            "{} is not a file path: it has no file name",
            path.display()
        ))
    })?;
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp_name = format!(".{}.tmp-{}-{n}", name.to_string_lossy(), std::process::id());
    Ok(path.with_file_name(tmp_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Removed when the test ends, even when it fails.
    fn scratch() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn writes_the_whole_file_and_leaves_no_temp_file() {
        let scratch = scratch();
        let dir = scratch.path();
        let path = dir.join("p.bin");
        write_bytes(&path, &[7; 100_000]).unwrap();
        assert_eq!(fs::read(&path).unwrap().len(), 100_000);
        assert_eq!(fs::read_dir(dir).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_cleans_up() {
        let scratch = scratch();
        let dir = scratch.path();
        let path = dir.join("p.bin");
        write_bytes(&path, b"old").unwrap();
        let err = write_with(&path, |out| {
            out.write_all(b"half")?;
            Err(std::io::Error::other("disk on fire"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("p.bin"), "{err}");
        assert!(err.to_string().contains("disk on fire"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir).unwrap().count(), 1);
    }

    #[test]
    fn a_missing_directory_is_a_clear_error() {
        let path = Path::new("/nonexistent-labkit-dir/p.bin");
        let err = write_bytes(path, b"x").unwrap_err().to_string();
        assert!(err.contains("/nonexistent-labkit-dir/p.bin"), "{err}");
    }
}
