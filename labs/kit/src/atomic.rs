//! Atomic file writes: a reader sees the old file or the complete new one,
//! never a half-written one; and the files of one run are replaced together
//! or not at all.
//!
//! The recipe is the classic one: write to a temporary file in the *same*
//! directory (a rename is only atomic within one file system), flush the
//! buffer, `fsync` the file so its bytes are on disk before its name is,
//! then rename it over the target. If anything fails, the temporary file is
//! removed and the target is left as it was.
//!
//! Temporary files are created the way a shared directory demands: with
//! `O_EXCL` (`create_new`), so a symlink or a file planted at the name is
//! never followed or overwritten, under a name no other process can guess:
//! `.cpu.pb.gz.tmp-<pid>-<random>`. The process id in the name lets a later
//! run tell a file left by a killed process from one still being written
//! ([`remove_stale`]).

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::Error;

/// What marks a temporary file of ours: `.NAME` + this + `PID-RANDOM`.
const TEMP_MARK: &str = ".tmp-";

/// The name every temporary file for `path` starts with: `.NAME.tmp-PID-`.
fn temp_prefix(path: &Path) -> Result<String, Error> {
    let name = file_name(path)?;
    Ok(format!(
        ".{}{TEMP_MARK}{}-",
        name.to_string_lossy(),
        std::process::id()
    ))
}

/// Creates a new, empty temporary file beside `path`, exclusively and under
/// an unpredictable name. It is removed when dropped, unless a [`Batch`]
/// renames it into place first.
pub fn temp_beside(path: &Path) -> Result<NamedTempFile, Error> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix(&temp_prefix(path)?)
        // What `File::create` gives (0666 less the umask), not tempfile's
        // private 0600: the file is a profile to share, once renamed.
        .permissions(fs::Permissions::from_mode(0o666))
        .rand_bytes(12)
        .tempfile_in(dir_of(path))
        .map_err(|e| {
            Error::io(
                format!("cannot create a temporary file for {}", path.display()),
                e,
            )
        })
}

/// Files staged under temporary names, renamed into place together by
/// [`Batch::commit`]. Dropping a batch that was not committed removes what
/// it staged and leaves every target as it was.
#[derive(Default)]
pub struct Batch {
    staged: Vec<(NamedTempFile, PathBuf)>,
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    // ANCHOR: write_with
    /// Stages `path` with whatever `fill` writes into the buffered writer
    /// it is given: written, flushed and `fsync`ed under a temporary name.
    pub fn write_with<F>(&mut self, path: &Path, fill: F) -> Result<(), Error>
    where
        F: FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
    {
        let tmp = temp_beside(path)?;
        let result = (|| {
            let mut out = BufWriter::new(tmp.as_file().try_clone()?);
            fill(&mut out)?;
            // `into_inner` flushes and reports the error that a silent drop
            // would swallow: this is the step a program that exits early
            // forgets.
            let file = out.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()
        })();
        result.map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        self.staged.push((tmp, path.to_path_buf()));
        Ok(())
    }
    // ANCHOR_END: write_with

    /// Stages `path` with `bytes`.
    pub fn write_bytes(&mut self, path: &Path, bytes: &[u8]) -> Result<(), Error> {
        self.write_with(path, |out| out.write_all(bytes))
    }

    /// Stages a temporary file another writer filled (dhat, tracing-chrome)
    /// as the new `path`. The caller has checked that the writer finished
    /// it; here it is `fsync`ed.
    pub fn add(&mut self, tmp: NamedTempFile, path: &Path) -> Result<(), Error> {
        tmp.as_file()
            .sync_all()
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        self.staged.push((tmp, path.to_path_buf()));
        Ok(())
    }

    /// Renames every staged file over its target. If one rename fails, the
    /// targets already replaced get their old files back (kept as hard
    /// links until the end), so the run's files change together or not at
    /// all.
    pub fn commit(self) -> Result<(), Error> {
        // Keep each old file under a second name while the set changes
        // (all but the last: nothing is renamed after it).
        let mut backups = Vec::new();
        for (i, (_, path)) in self.staged.iter().enumerate() {
            let last = i + 1 == self.staged.len();
            backups.push(if !last && path.is_file() {
                Some(backup(path)?)
            } else {
                None
            });
        }
        let mut done: Vec<(&Path, Option<&NamedTempFile<()>>)> = Vec::new();
        for ((tmp, path), old) in self.staged.iter().zip(&backups) {
            if let Err(e) = fs::rename(tmp.path(), path) {
                for (path, old) in done.into_iter().rev() {
                    let _ = match old {
                        Some(old) => fs::rename(old.path(), path),
                        None => fs::remove_file(path),
                    };
                }
                return Err(Error::io(format!("cannot write {}", path.display()), e));
            }
            done.push((path, old.as_ref()));
        }
        // Make the renames durable. Not every file system lets a directory
        // be opened for syncing, so a failure here is not an error.
        let dirs: std::collections::BTreeSet<&Path> =
            self.staged.iter().map(|(_, p)| dir_of(p)).collect();
        for dir in dirs {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        // The temporary names are gone (renamed): forget them without
        // trying to remove them.
        for (tmp, _) in self.staged {
            let _ = tmp.into_temp_path().keep();
        }
        Ok(())
    }
}

/// A second name for the file at `path` (a hard link; a copy where the file
/// system has no links), removed when dropped.
fn backup(path: &Path) -> Result<NamedTempFile<()>, Error> {
    tempfile::Builder::new()
        .prefix(&temp_prefix(path)?)
        .rand_bytes(12)
        .make_in(dir_of(path), |link| {
            fs::hard_link(path, link).or_else(|_| {
                let mut copy = File::options().write(true).create_new(true).open(link)?;
                let copied =
                    File::open(path).and_then(|mut old| std::io::copy(&mut old, &mut copy));
                copied.map(drop).inspect_err(|_| {
                    let _ = fs::remove_file(link);
                })
            })
        })
        .map_err(|e| {
            Error::io(
                format!("cannot keep the old {} while replacing it", path.display()),
                e,
            )
        })
}

/// Writes `path` atomically with whatever `fill` writes into the buffered
/// writer it is given.
pub fn write_with<F>(path: &Path, fill: F) -> Result<(), Error>
where
    F: FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
{
    let mut batch = Batch::new();
    batch.write_with(path, fill)?;
    batch.commit()
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    write_with(path, |out| out.write_all(bytes))
}

/// Puts a temporary file another writer filled (dhat, tracing-chrome) in
/// place as `path`, if `check` accepts what it holds; otherwise `path` is
/// left as it was and the error says it is `incomplete`, and what `check`
/// found.
pub fn persist_checked(
    tmp: NamedTempFile,
    path: &Path,
    incomplete: &str,
    check: impl FnOnce(&Path, &[u8]) -> Result<(), String>,
) -> Result<(), Error> {
    let bytes = fs::read(tmp.path())
        .map_err(|e| Error::io(format!("cannot read back {}", tmp.path().display()), e))?;
    if let Err(e) = check(tmp.path(), &bytes) {
        return Err(Error::new(format!(
            "{incomplete} ({e}); {} was left as it was",
            path.display()
        )));
    }
    let mut batch = Batch::new();
    batch.add(tmp, path)?;
    batch.commit()
}

/// Writes `bytes` to a new file at `path`, whole or not at all, and never
/// over an existing file: if `path` exists (even if it appeared a moment
/// ago), it is left as it is and the error says so.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = temp_beside(path)?;
    let written = (|| {
        let mut out = BufWriter::new(tmp.as_file().try_clone()?);
        out.write_all(bytes)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()
    })();
    written.map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    // `persist_noclobber` links the file in place only if nothing is there,
    // in one step: no window between a check and the rename.
    tmp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            Error::new(format!(
                "{} already exists; it is left as it is",
                path.display()
            ))
        } else {
            Error::io(format!("cannot write {}", path.display()), e.error)
        }
    })?;
    Ok(())
}

/// Removes the temporary files a killed run left in `dir`: files named like
/// ours (`.NAME.tmp-PID-RANDOM`) whose process is gone. A file whose
/// process still runs is being written, and is left alone. Returns how
/// many were removed.
pub fn remove_stale(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        let stale = temp_owner(&entry.file_name()).is_some_and(|pid| !process_alive(pid));
        if is_file && stale && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The process id in a temporary file's name, if the name is one of ours.
fn temp_owner(name: &OsStr) -> Option<u32> {
    let name = name.to_str()?;
    let (target, tail) = name.strip_prefix('.')?.rsplit_once(TEMP_MARK)?;
    let (pid, random) = tail.split_once('-')?;
    let ours = !target.is_empty()
        && random.len() == 12
        && random.bytes().all(|b| b.is_ascii_alphanumeric());
    ours.then(|| pid.parse().ok()).flatten()
}

#[cfg(target_os = "linux")]
fn process_alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

/// Without `/proc`, only this process is known to be alive: a run there
/// removes the temporary files of every other process, so two runs must not
/// share an output directory at the same time.
#[cfg(not(target_os = "linux"))]
fn process_alive(pid: u32) -> bool {
    pid == std::process::id()
}

fn file_name(path: &Path) -> Result<&OsStr, Error> {
    path.file_name().ok_or_else(|| {
        Error::new(format!(
            "{} is not a file path: it has no file name",
            path.display()
        ))
    })
}

fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Removed when the test ends, even when it fails.
    fn scratch() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut n: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    }

    #[test]
    fn a_written_file_is_as_readable_as_one_file_create_makes() {
        use std::os::unix::fs::PermissionsExt;
        let scratch = scratch();
        let plain = scratch.path().join("plain");
        File::create(&plain).unwrap();
        let atomic = scratch.path().join("atomic");
        write_bytes(&atomic, b"x").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&atomic), mode(&plain));
    }

    #[test]
    fn a_new_file_never_replaces_an_existing_one() {
        let scratch = scratch();
        let path = scratch.path().join("dump.txt");
        write_new(&path, b"first").unwrap();
        let err = write_new(&path, b"second").unwrap_err().to_string();
        assert!(err.contains("already exists; it is left as it is"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"first");
        assert_eq!(names(scratch.path()), ["dump.txt"], "no temp file is left");
        // Many writers racing for one name: exactly one wins, and the file
        // is that writer's whole text (a check-then-rename let the last win).
        let racers: Vec<_> = (0..8u8)
            .map(|i| {
                let path = scratch.path().join("race.txt");
                std::thread::spawn(move || write_new(&path, &[i; 4096]).is_ok())
            })
            .collect();
        let wins = racers
            .into_iter()
            .map(|r| r.join().unwrap())
            .filter(|&won| won)
            .count();
        assert_eq!(wins, 1, "exactly one writer creates the file");
        let text = fs::read(scratch.path().join("race.txt")).unwrap();
        assert_eq!(text.len(), 4096);
        assert!(
            text.iter().all(|&b| b == text[0]),
            "one writer's whole text"
        );
    }

    #[test]
    fn writes_the_whole_file_and_leaves_no_temp_file() {
        let scratch = scratch();
        let dir = scratch.path();
        let path = dir.join("p.bin");
        write_bytes(&path, &[7; 100_000]).unwrap();
        assert_eq!(fs::read(&path).unwrap().len(), 100_000);
        assert_eq!(names(dir), ["p.bin"]);
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
        assert_eq!(names(dir), ["p.bin"]);
    }

    #[test]
    fn a_missing_directory_is_a_clear_error() {
        let path = Path::new("/nonexistent-labkit-dir/p.bin");
        let err = write_bytes(path, b"x").unwrap_err().to_string();
        assert!(err.contains("/nonexistent-labkit-dir/p.bin"), "{err}");
    }

    #[test]
    fn a_batch_that_fails_half_way_leaves_every_old_file() {
        let scratch = scratch();
        let dir = scratch.path();
        let (a, b) = (dir.join("cpu.pb.gz"), dir.join("cpu.svg"));
        write_bytes(&a, b"old a").unwrap();
        write_bytes(&b, b"old b").unwrap();
        // The second file fails to write: nothing is replaced.
        let mut batch = Batch::new();
        batch.write_bytes(&a, b"new a").unwrap();
        let err = batch
            .write_with(&b, |_| Err(std::io::Error::other("disk full")))
            .unwrap_err();
        assert!(err.to_string().contains("cpu.svg"), "{err}");
        drop(batch);
        assert_eq!(fs::read(&a).unwrap(), b"old a");
        assert_eq!(names(dir), ["cpu.pb.gz", "cpu.svg"]);
        // Both written but the second rename fails (its target is now a
        // directory): the first is put back.
        fs::remove_file(&b).unwrap();
        fs::create_dir(&b).unwrap();
        fs::write(b.join("x"), b"").unwrap();
        let mut batch = Batch::new();
        batch.write_bytes(&a, b"new a").unwrap();
        batch.write_bytes(&b, b"new b").unwrap();
        let err = batch.commit().unwrap_err();
        assert!(err.to_string().contains("cpu.svg"), "{err}");
        assert_eq!(fs::read(&a).unwrap(), b"old a");
        assert_eq!(names(dir), ["cpu.pb.gz", "cpu.svg"]);
        // And a batch that succeeds replaces both.
        fs::remove_dir_all(&b).unwrap();
        let mut batch = Batch::new();
        batch.write_bytes(&a, b"new a").unwrap();
        batch.write_bytes(&b, b"new b").unwrap();
        batch.commit().unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"new a");
        assert_eq!(fs::read(&b).unwrap(), b"new b");
        assert_eq!(names(dir), ["cpu.pb.gz", "cpu.svg"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_planted_symlink_is_never_followed() {
        let scratch = scratch();
        let dir = scratch.path();
        let victim = dir.join("victim");
        fs::write(&victim, b"precious").unwrap();
        // Whatever name the old scheme would pick, and a few around it.
        let pid = std::process::id();
        for n in 0..64 {
            std::os::unix::fs::symlink(&victim, dir.join(format!(".p.bin.tmp-{pid}-{n}"))).unwrap();
            std::os::unix::fs::symlink(&victim, dir.join(format!(".p.bin.tmp-{pid}")))
                .unwrap_or(());
        }
        let path = dir.join("p.bin");
        write_bytes(&path, b"profile").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert_eq!(fs::read(&path).unwrap(), b"profile");
        assert!(fs::symlink_metadata(&path).unwrap().is_file());
    }

    #[test]
    fn temp_names_are_unpredictable_and_ours_are_recognised() {
        let scratch = scratch();
        let path = scratch.path().join("cpu.pb.gz");
        let (a, b) = (temp_beside(&path).unwrap(), temp_beside(&path).unwrap());
        let (na, nb) = (a.path().file_name().unwrap(), b.path().file_name().unwrap());
        assert_ne!(na, nb);
        let prefix = format!(".cpu.pb.gz.tmp-{}-", std::process::id());
        assert!(na.to_string_lossy().starts_with(&prefix), "{na:?}");
        assert_eq!(temp_owner(na), Some(std::process::id()));
        for other in [
            "cpu.pb.gz",
            ".cpu.pb.gz.tmp-12",
            ".cpu.pb.gz.tmp-12-3",
            ".tmpAbCdEf",
            ".cpu.pb.gz.tmp-x-abcdefabcdef",
        ] {
            assert_eq!(temp_owner(OsStr::new(other)), None, "{other}");
        }
    }

    #[test]
    fn stale_temp_files_of_dead_processes_are_removed_and_live_ones_kept() {
        let scratch = scratch();
        let dir = scratch.path();
        // A process id that cannot be alive: above the kernel's maximum.
        let dead = format!(".cpu.pb.gz.tmp-{}-AbCdEf123456", u32::MAX);
        let live = format!(".trace.json.tmp-{}-AbCdEf123456", std::process::id());
        for name in [
            &dead,
            &live,
            &"keep.txt".to_string(),
            &".tmpXyZ".to_string(),
        ] {
            fs::write(dir.join(name), b"").unwrap();
        }
        assert_eq!(remove_stale(dir), 1);
        let mut expected = vec![".tmpXyZ".to_string(), live, "keep.txt".into()];
        expected.sort();
        assert_eq!(names(dir), expected);
    }
}
