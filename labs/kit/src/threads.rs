//! Exact CPU time per thread, from the kernel's own accounting.
//!
//! pprof-rs labels every sample with its thread's name, but its one
//! process-wide timer makes per-thread shares noisy: two equally busy
//! threads came out anywhere from 36:64 to 70:30 (Go had the same problem
//! until Go 1.18 gave each thread its own timer, issue 35057). For a
//! per-thread view that a test can rely on, a worker wraps its body in
//! [`account`]; when the body returns, the thread's CPU time is read from
//! the kernel (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`, exact to the
//! nanosecond, not sampled) and kept under the thread's name, with the
//! wall-clock moments the body started and finished. [`save`] writes the
//! table as `threads.txt`.
//!
//! (`/proc/thread-self/schedstat` looks like the same number, but for the
//! thread reading it, it is only brought up to date at the next scheduler
//! tick: a thread that ran 1 ms read 0.)

use std::path::Path;

use crate::{Error, atomic};

/// The file [`save`] writes.
pub const THREADS_FILE: &str = "threads.txt";

/// One accounted thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `None` if the thread was spawned without a name.
    pub name: Option<String>,
    /// CPU time, exact, from the kernel.
    pub cpu_ns: u64,
    /// When the body started and finished, in nanoseconds of the process's
    /// monotonic clock: comparable between threads of one run only.
    pub start_ns: u64,
    pub end_ns: u64,
    /// The part of that wall time the thread was neither running nor ready
    /// to run: blocked, waiting for something (an order, a lock, a sleep).
    /// Time spent runnable but preempted by other programs is not in it, so
    /// a busy machine does not change it.
    pub idle_ns: u64,
    /// The `labkit::work` units the body burned: the work the thread was
    /// given, counted exactly, whatever the machine's speed or its cores.
    pub units: u64,
}

static TABLE: parking_lot::Mutex<Vec<Entry>> = parking_lot::const_mutex(Vec::new());

/// Nanoseconds since the first time any thread asked, on a monotonic clock.
fn now_ns() -> u64 {
    static ANCHOR: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let anchor = *ANCHOR.get_or_init(std::time::Instant::now);
    u64::try_from(anchor.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Runs `body` on the current thread, then records the thread's CPU time
/// under its name, with when the body started and finished.
pub fn account<R>(body: impl FnOnce() -> R) -> R {
    let units_before = crate::work::units_burned();
    let (start_ns, cpu_before, ready_before) = snapshot();
    let result = body();
    let (end_ns, cpu_after, ready_after) = snapshot();
    let units = crate::work::units_burned() - units_before;
    if let (Some(cpu_ns), Some(cpu_before)) = (cpu_after, cpu_before) {
        let name = std::thread::current().name().map(str::to_string);
        let ready = ready_after
            .zip(ready_before)
            .map_or(0, |(a, b)| a.saturating_sub(b));
        let idle_ns = (end_ns - start_ns)
            .saturating_sub(cpu_ns - cpu_before)
            .saturating_sub(ready);
        TABLE.lock().push(Entry {
            name,
            cpu_ns,
            start_ns,
            end_ns,
            idle_ns,
            units,
        });
    }
    result
}

/// The clock, the thread's CPU time and its `run_delay`, read as one
/// moment. A thread preempted between the reads would count that wait in
/// one of them and not the other (on a busy machine, tens of milliseconds),
/// so the reads are repeated until `run_delay` is the same before and after
/// them: then no wait for a CPU fell in between.
fn snapshot() -> (u64, Option<u64>, Option<u64>) {
    let mut reads = (0, None, None);
    for _ in 0..10 {
        let before = ready_ns();
        reads = (now_ns(), cpu_time_ns(), ready_ns());
        if before == reads.2 {
            break;
        }
    }
    reads
}

/// How long the current thread has waited, runnable, for a CPU: the second
/// field of `/proc/thread-self/schedstat` (the kernel's `run_delay`, brought
/// up to date each time the thread is given a CPU, so exact while it runs).
/// `None` where the kernel does not keep it (not Linux, or no schedstats);
/// then preemption counts as idle, which is only right on a quiet machine.
fn ready_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().nth(1)?.parse().ok()
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
    let mut text = String::from(
        "# cpu_ns\tstart_ns\tend_ns\tidle_ns\tunits\tthread (- for a thread spawned without a name)\n",
    );
    for e in entries {
        text.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\n",
            e.cpu_ns,
            e.start_ns,
            e.end_ns,
            e.idle_ns,
            e.units,
            e.name.as_deref().unwrap_or("-")
        ));
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
            let bad = || {
                format!(
                    "{}: line {line:?} is not \
                     `<cpu_ns><TAB><start_ns><TAB><end_ns><TAB><idle_ns><TAB><units><TAB><name>`",
                    path.display()
                )
            };
            let fields: Vec<&str> = line.splitn(6, '\t').collect();
            let [cpu, start, end, idle, units, name] = fields[..] else {
                return Err(bad());
            };
            let number = |s: &str| s.parse::<u64>().map_err(|_| bad());
            Ok(Entry {
                name: (name != "-").then(|| name.to_string()),
                cpu_ns: number(cpu)?,
                start_ns: number(start)?,
                end_ns: number(end)?,
                idle_ns: number(idle)?,
                units: number(units)?,
            })
        })
        .collect()
}

/// The share of the threads' wall time they sat idle, waiting for
/// something, rather than running or ready to run: for a pool, the time
/// its workers waited for work. Both sides are times of the same run, and
/// preemption by other programs is in neither, so a busy machine leaves
/// it where it is.
pub fn idle_share(entries: &[Entry]) -> f64 {
    let wall: u64 = entries.iter().map(|e| e.end_ns - e.start_ns).sum();
    let idle: u64 = entries.iter().map(|e| e.idle_ns).sum();
    idle as f64 / wall.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table is process-wide: tests that fill it take turns.
    static SERIAL: parking_lot::Mutex<()> = parking_lot::const_mutex(());

    #[test]
    fn a_busy_thread_is_accounted_under_its_name_and_read_back() {
        let _turn = SERIAL.lock();
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path();
        let t = std::thread::Builder::new()
            .name("busy-one".into())
            .spawn(|| account(|| crate::work::burn(5, 1)))
            .unwrap();
        t.join().unwrap();
        std::thread::spawn(|| account(|| ())).join().unwrap();
        save(dir).unwrap();
        let entries = load(dir).unwrap();
        let busy = entries
            .iter()
            .find(|e| e.name.as_deref() == Some("busy-one"));
        if cpu_time_ns().is_some() {
            assert!(busy.is_some_and(|e| e.cpu_ns > 0), "{entries:?}");
            assert!(busy.is_some_and(|e| e.units == 5), "{entries:?}");
            assert!(busy.is_some_and(|e| e.end_ns > e.start_ns), "{entries:?}");
            assert!(entries.iter().any(|e| e.name.is_none()), "{entries:?}");
        }
        std::fs::write(dir.join(THREADS_FILE), "12\t1\t2\t0\t0\tx\nnot a line\n").unwrap();
        let err = load(dir).unwrap_err();
        assert!(
            err.contains("threads.txt") && err.contains("not a line"),
            "{err}"
        );
    }

    #[test]
    fn idle_share_weighs_idle_time_by_wall_time() {
        let entry = |wall: u64, idle_ns: u64| Entry {
            name: None,
            cpu_ns: wall - idle_ns,
            start_ns: 10,
            end_ns: 10 + wall,
            idle_ns,
            units: 0,
        };
        assert_eq!(idle_share(&[entry(100, 0), entry(100, 50)]), 0.25);
        assert_eq!(idle_share(&[]), 0.0);
    }

    #[test]
    fn a_thread_that_sleeps_is_idle_and_one_that_works_is_not() {
        if ready_ns().is_none() || cpu_time_ns().is_none() {
            return; // no schedstat here: nothing to compare
        }
        let _turn = SERIAL.lock();
        let spawn = |name: &str, body: fn()| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(move || account(body))
                .unwrap()
        };
        let sleeper = spawn("sleeper", || {
            std::thread::sleep(std::time::Duration::from_millis(200))
        });
        let worker = spawn("worker", || {
            std::hint::black_box(crate::work::burn(200, 3));
        });
        sleeper.join().unwrap();
        worker.join().unwrap();
        let entries = std::mem::take(&mut *TABLE.lock());
        let named = |name: &str| {
            let found: Vec<&Entry> = entries
                .iter()
                .filter(|e| e.name.as_deref() == Some(name))
                .collect();
            assert_eq!(found.len(), 1, "{entries:?}");
            found[0]
        };
        let (sleeper, worker) = (named("sleeper"), named("worker"));
        // The sleeper was idle for its 200 ms sleep, and not for the wait
        // for a CPU after it woke (on a busy machine, tens of ms: that is
        // run_delay). The worker was never idle, however often it was
        // preempted.
        let idle_ms = sleeper.idle_ns as f64 / 1e6;
        assert!(
            (190.0..260.0).contains(&idle_ms),
            "sleeper idle {idle_ms:.1} ms: {sleeper:?}"
        );
        let work = idle_share(std::slice::from_ref(worker));
        assert!(work < 0.1, "worker idle {work:.3}");
    }
}
