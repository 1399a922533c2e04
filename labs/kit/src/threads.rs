//! Exact CPU time per thread, from the kernel's own accounting.
//!
//! pprof-rs labels every sample with its thread's name, but its one
//! process-wide timer makes per-thread shares noisy: two equally busy
//! threads came out anywhere from 36:64 to 70:30 (Go had the same problem
//! until Go 1.18 gave each thread its own timer, issue 35057). For a
//! per-thread view that a test can rely on, a worker wraps its body in
//! [`account`]; when the body returns, the thread's CPU time is read from
//! the kernel (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`, exact to the
//! nanosecond, not sampled) and kept under the thread's name. [`save`]
//! writes the table as `threads.txt`.
//!
//! (`/proc/thread-self/schedstat` looks like the same number, but for the
//! thread reading it, it is only brought up to date at the next scheduler
//! tick: a thread that ran 1 ms read 0.)

use std::path::Path;

use crate::{Error, atomic};

/// The file [`save`] writes.
pub const THREADS_FILE: &str = "threads.txt";

/// A thread's name (`None` if it was spawned without one) and its CPU time.
pub type Entry = (Option<String>, u64);

static TABLE: parking_lot::Mutex<Vec<Entry>> = parking_lot::const_mutex(Vec::new());

/// Runs `body` on the current thread, then records the thread's CPU time
/// under its name.
pub fn account<R>(body: impl FnOnce() -> R) -> R {
    let result = body();
    if let Some(ns) = cpu_time_ns() {
        let name = std::thread::current().name().map(str::to_string);
        TABLE.lock().push((name, ns));
    }
    result
}

/// The current thread's CPU time so far, in nanoseconds.
pub fn cpu_time_ns() -> Option<u64> {
    let t = cpu_time::ThreadTime::try_now().ok()?;
    u64::try_from(t.as_duration().as_nanos()).ok()
}

/// Writes the threads recorded so far to `dir/threads.txt` (atomically)
/// and forgets them, so a second run starts from an empty table.
pub fn save(dir: &Path) -> Result<(), Error> {
    let entries = std::mem::take(&mut *TABLE.lock());
    let mut text = String::from("# cpu_ns\tthread (- for a thread spawned without a name)\n");
    for (name, ns) in entries {
        text.push_str(&format!("{ns}\t{}\n", name.as_deref().unwrap_or("-")));
    }
    atomic::write_bytes(&dir.join(THREADS_FILE), text.as_bytes())
}

/// Reads a `threads.txt` back.
pub fn load(dir: &Path) -> Result<Vec<Entry>, String> {
    let path = dir.join(THREADS_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (ns, name) = line.split_once('\t').ok_or_else(|| {
                format!(
                    "{}: line {line:?} is not `<cpu_ns><TAB><name>`",
                    path.display()
                )
            })?;
            let ns = ns.parse::<u64>().map_err(|_| {
                format!("{}: {ns:?} is not a number of nanoseconds", path.display())
            })?;
            let name = (name != "-").then(|| name.to_string());
            Ok((name, ns))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_thread_is_accounted_under_its_name_and_read_back() {
        let dir = std::env::temp_dir().join(format!("labkit-threads-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let t = std::thread::Builder::new()
            .name("busy-one".into())
            .spawn(|| account(|| crate::work::burn(5, 1)))
            .unwrap();
        t.join().unwrap();
        std::thread::spawn(|| account(|| ())).join().unwrap();
        save(&dir).unwrap();
        let entries = load(&dir).unwrap();
        let busy = entries
            .iter()
            .find(|(n, _)| n.as_deref() == Some("busy-one"));
        if cpu_time_ns().is_some() {
            assert!(busy.is_some_and(|(_, ns)| *ns > 100_000), "{entries:?}");
            assert!(entries.iter().any(|(n, _)| n.is_none()), "{entries:?}");
        }
        std::fs::write(dir.join(THREADS_FILE), "12\tx\nnot a line\n").unwrap();
        let err = load(&dir).unwrap_err();
        assert!(
            err.contains("threads.txt") && err.contains("not a line"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
