//! CPU profiles with pprof-rs, with defaults that suit a 1–2 s lab run.
//!
//! ```no_run
//! let capture = labkit::capture::Capture::start()?;
//! // ... the workload ...
//! let profile = capture.stop()?;
//! profile.save(std::path::Path::new("lab-out/083"))?;
//! # Ok::<(), labkit::Error>(())
//! ```

use std::collections::HashMap;

use crate::Error;
use crate::profile::{self, Recorded};
use crate::proto;

/// Samples per second of CPU time we ask for (unless [`SAMPLE_HZ_ENV`]
/// emulates a slower kernel). pprof-rs drives sampling with
/// `setitimer(ITIMER_PROF)`, which the kernel only fires on its own tick
/// (250 Hz on the machines this workbook was measured on), so anything above
/// the tick rate is quietly capped. A prime number keeps the sampler from
/// marching in step with periodic work when the tick rate is higher.
pub const FREQUENCY_HZ: i32 = 997;

/// Shared libraries in which a sample is dropped rather than unwound.
///
/// pprof-rs checks this list in its `SIGPROF` handler
/// (`perf_signal_handler`, pprof-0.15.0 `src/profiler.rs`) against the one
/// address where the signal interrupted the program: if that address lies
/// in a listed library (a substring of its path), the sample is thrown away
/// whole, with its callers. Nothing else on the stack is checked. So every
/// entry costs samples, and the cost lands on whoever calls that library:
/// with `libc` listed, a program that spends two thirds of its time in
/// `calloc`, `free` and `memcpy` was profiled as 94 % arithmetic in a
/// release build (`tests/cpu_ground_truth.rs` measures this). An entry
/// belongs here only if walking the stack from inside that library can hang
/// or crash.
///
/// What remains, and why:
///
/// - `libgcc`: the unwinder itself (`libgcc_s.so.1`, which backtrace-rs
///   calls through `_Unwind_Backtrace`). The signal handler unwinds with the
///   same code, so a sample taken while the program is itself unwinding (a
///   panic, or `labkit::contention` recording a stack) runs the unwinder
///   inside the unwinder. Its shared state is not built for that: frames
///   registered at run time (by a JIT, through `__register_frame`) are
///   looked up under a plain, non-recursive mutex (`object_mutex` in
///   libgcc's `_Unwind_Find_FDE`, up to GCC 12), which the interrupted walk
///   may be holding; and a libgcc older than 12, or a glibc older than 2.35,
///   finds each frame's tables with `dl_iterate_phdr`, under the loader's
///   lock, through a cache it rewrites as it goes, which a walk nested in
///   the same thread can find half rewritten. On the machine this workbook
///   was measured on (Debian 12: GCC 12, glibc 2.36) nothing registers
///   frames and libgcc asks glibc's lock-free `_dl_find_object` instead, so
///   no lock is taken; the entry stays because a learner's machine may be
///   older, and it costs next to nothing: a program spends CPU in libgcc
///   only while it unwinds.
/// - `vdso`: the few functions the kernel maps into every process
///   (`clock_gettime`, `gettimeofday`, `getcpu`). Unwinding out of them
///   depends on unwind tables the kernel builds for them, and some kernels
///   shipped wrong ones (pprof-rs's README names Ubuntu 18.04): a wrong
///   table inside a signal handler can be a crash, not a lost sample. This
///   machine's kernel gets them right: without the entry, a loop that reads
///   `Instant::now()` for 0.3 s of CPU got 89 samples, every one with the
///   loop's function on its stack. So the entry is insurance for the
///   kernels learners run, and it has a price: time spent reading the clock
///   vanishes from the profile, callers and all (the same loop got 2
///   samples with the entry). A clock read takes tens of nanoseconds, so
///   only a program that does little else notices.
///
/// What was dropped, and why that is safe:
///
/// - `libc`: the old fear was a sample taken inside `malloc` while it holds
///   its arena lock, followed by a handler that allocates and deadlocks. The
///   handler does not allocate: pprof-rs keeps the stack in a fixed array
///   (`SmallVec<[_; MAX_DEPTH]>`) and counts it in a table allocated when
///   profiling starts; when that table evicts an entry it `write`s it to a
///   temporary file, a system call, not `malloc`. On this platform the
///   unwinder does not allocate or lock either (see `libgcc` above). And
///   libc is built with complete unwind tables, hand-written `memcpy` and
///   system-call stubs included, so the stack comes out whole: the sample
///   is charged to `memcpy` and to every caller above it, which is the
///   truth.
/// - `pthread`: since glibc 2.34 the thread functions live in libc itself
///   and `libpthread.so.0` is an empty placeholder that a Rust program does
///   not even load. (Before 2.34 it held the lock functions; interrupting
///   them was never the danger, since the handler takes no lock the program
///   can hold: pprof-rs only *tries* its own lock, and drops the sample if
///   it is busy.)
///
/// Matching is by substring of the library's path, so a short entry can
/// catch more than it names: `"libc"` also matched `libcap` or `libcrypto`.
///
/// Neither list covers the dynamic loader (`ld-linux-x86-64.so.2`), and
/// none ever did: unwinding from inside it is safe here because
/// `_dl_find_object` reads a second copy of the loader's tables while
/// `dlopen` updates the first (glibc `elf/dl-find_object.c`), and pprof-rs
/// runs one stack walk before it installs its handler, so libgcc's one-time
/// set-up (a `pthread_once`) and its lazily bound calls into glibc are done
/// before any sample can interrupt them.
pub const BLOCKLIST: &[&str] = &["libgcc", "vdso"];

/// The names files are saved under.
pub const PPROF_FILE: &str = "cpu.pb.gz";
pub const FLAME_FILE: &str = "cpu.svg";

/// Emulates a kernel that ticks at this many hertz: the sampler is asked
/// for this rate instead of [`FREQUENCY_HZ`], so a CPU-second yields at
/// most this many samples, as on a `CONFIG_HZ=100` kernel. The workbook's
/// tests set it to prove that no verdict depends on the tick rate.
pub const SAMPLE_HZ_ENV: &str = "LABKIT_SAMPLE_HZ";

/// The rate asked of pprof-rs on this run: [`FREQUENCY_HZ`], or the
/// emulated tick rate when [`SAMPLE_HZ_ENV`] is set.
pub fn frequency_hz() -> Result<i32, Error> {
    sample_hz(std::env::var(SAMPLE_HZ_ENV).ok().as_deref()).map_err(Error::new)
}

/// Parses the emulated tick rate: absent means [`FREQUENCY_HZ`]; otherwise
/// a whole number of hertz from 1 to 1000.
pub fn sample_hz(value: Option<&str>) -> Result<i32, String> {
    let Some(text) = value else {
        return Ok(FREQUENCY_HZ);
    };
    match text.trim().parse::<i32>() {
        Ok(hz) if (1..=1000).contains(&hz) => Ok(hz),
        _ => Err(format!(
            "{SAMPLE_HZ_ENV}={text:?} is not a sampling rate: give whole hertz from 1 to 1000 \
             (100 emulates a kernel ticking at 100 Hz), or unset it"
        )),
    }
}

/// The profiler of the capture that is running, if one is. pprof-rs runs
/// one profiler per process, so one place holds it; that is what lets a
/// workload ask how many samples it has collected so far
/// ([`samples_so_far`]) without being handed the capture.
static RUNNING: parking_lot::Mutex<Option<pprof::ProfilerGuard<'static>>> =
    parking_lot::const_mutex(None);

/// A running CPU profiler. Sampling stops when it is dropped, so keep it in
/// a named binding (`let capture = …`, never `let _ = …`) for as long as the
/// work you want to see runs.
pub struct Capture {
    /// True until [`Capture::stop`] or the drop stops the profiler.
    running: bool,
    /// The process's CPU clock when sampling began: what the samples stand
    /// for is measured, not assumed (see [`encode`]).
    cpu_at_start: Option<cpu_time::ProcessTime>,
}

impl Capture {
    /// Starts sampling the whole process at [`frequency_hz`].
    pub fn start() -> Result<Capture, Error> {
        let hz = frequency_hz()?;
        let build = || {
            pprof::ProfilerGuardBuilder::default()
                .frequency(hz)
                .blocklist(BLOCKLIST)
                .build()
        };
        let failed = |e| Error::new(format!("cannot start the CPU profiler: {e}"));
        let mut running = RUNNING.lock();
        if running.is_some() {
            return Err(Error::new(
                "a CPU capture is already running in this process: stop it first \
                 (pprof-rs profiles one capture at a time)",
            ));
        }
        if pprof_temp::removed() {
            // pprof-rs's file was removed when the last capture stopped:
            // one stop makes pprof-rs create a new one, kept this time.
            match build() {
                Ok(throwaway) => drop(throwaway),
                Err(e) => {
                    pprof_temp::still_removed();
                    return Err(failed(e));
                }
            }
        }
        *running = Some(build().map_err(failed)?);
        // After the build: pprof-rs's first stack walk, which loads the
        // unwinding tables (a third of a second in a debug build), is no
        // work of the program's.
        let cpu_at_start = cpu_time::ProcessTime::try_now().ok();
        Ok(Capture {
            running: true,
            cpu_at_start,
        })
    }

    /// Stops sampling and resolves the stacks to function names.
    pub fn stop(mut self) -> Result<CpuProfile, Error> {
        if !std::mem::take(&mut self.running) {
            return Err(Error::new("this capture was already stopped"));
        }
        let Some(guard) = RUNNING.lock().take() else {
            return Err(Error::new("this capture was already stopped"));
        };
        let cpu = self
            .cpu_at_start
            .and_then(|start| start.try_elapsed().ok())
            .and_then(|d| u64::try_from(d.as_nanos()).ok());
        let report = guard
            .report()
            .frames_post_processor(strip_profiler_frames)
            .build()
            .map_err(|e| Error::new(format!("cannot build the CPU profile: {e}")));
        pprof_temp::stopping(guard);
        let proto = encode(&report?, cpu);
        Recorded::new(proto, "cpu", 0)
            .map_err(|e| Error::new(format!("pprof-rs produced a profile we cannot read: {e}")))
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if !std::mem::take(&mut self.running) {
            return;
        }
        let guard = RUNNING.lock().take();
        if let Some(guard) = guard {
            pprof_temp::stopping(guard);
        }
    }
}

/// How many samples the CPU capture running in this process holds so far,
/// or `None` when no capture runs.
///
/// It counts pprof-rs's table without resolving a symbol (microseconds).
/// While it reads, pprof-rs's signal handler finds its table busy and drops
/// the sample it was taking, so ask every few milliseconds, not in a tight
/// loop: [`until_sampled`] asks at most every [`CHECK_EVERY`].
pub fn samples_so_far() -> Option<u64> {
    count().ok().flatten()
}

/// [`samples_so_far`], with pprof-rs's error when it cannot count (its
/// temporary file gone, say) told apart from "no capture runs".
fn count() -> Result<Option<u64>, String> {
    let running = RUNNING.lock();
    let Some(guard) = running.as_ref() else {
        return Ok(None);
    };
    let report = guard
        .report()
        .build_unresolved()
        .map_err(|e| format!("cannot count the samples so far: {e}"))?;
    let total: isize = report.data.values().sum();
    Ok(Some(u64::try_from(total).unwrap_or(0)))
}

/// How often [`until_sampled`] asks the profiler for its count.
pub const CHECK_EVERY: std::time::Duration = std::time::Duration::from_millis(10);

/// The fewest samples per second of the process's CPU time any kernel
/// delivers, with room to spare: a 100 Hz kernel gives up to 100 to one
/// busy thread, and ~40 per CPU-second to several busy threads whose
/// signals it merges. A workload that has burned `samples / 10` seconds of
/// CPU without collecting its samples is not going to: [`until_sampled`]
/// gives up there, and says so, rather than run for ever.
pub const GIVE_UP_BELOW_HZ: f64 = 10.0;

/// CPU-seconds after which a capture that holds no sample at all is taken
/// for one that never will: any kernel gives a busy thread a sample per
/// 10 ms tick, so a second of CPU without one means the signal is not
/// delivered (some sandboxes block it).
pub const NOTHING_AFTER_CPU_SECONDS: f64 = 1.0;

/// Round numbers for a workload whose size is set by the evidence it must
/// produce, not by a loop count: `0, 1, 2, …` up to `at_least`, then on
/// while the running CPU capture holds fewer than `samples` samples.
///
/// A sampling profiler takes about `CONFIG_HZ` samples per second of CPU
/// (100, 250 or 1000 depending on the kernel), and a batch of work costs
/// ten times less on a fast laptop than on a slow one: a fixed batch gives
/// a few dozen samples on one machine and thousands on another. Running
/// until the profile holds enough samples gives every machine the same
/// evidence, and the same verdict.
///
/// With no capture running there is nothing to wait for: the rounds stop
/// at `at_least`. If the profiler delivers fewer than [`GIVE_UP_BELOW_HZ`]
/// samples per CPU-second, they stop too, with a note on stderr that the
/// machine's sampler, not the program, fell short.
pub fn until_sampled(at_least: u64, samples: u64) -> UntilSampled {
    UntilSampled {
        next: 0,
        at_least,
        samples,
        last_check: None,
        cpu_start: process_cpu(),
    }
}

/// The iterator [`until_sampled`] returns.
#[derive(Debug)]
pub struct UntilSampled {
    next: u64,
    at_least: u64,
    samples: u64,
    last_check: Option<std::time::Instant>,
    cpu_start: Option<std::time::Duration>,
}

impl UntilSampled {
    /// Whether the rounds may stop: no capture runs, the capture holds
    /// enough samples, or the sampler is too slow to ever get there.
    fn evidence_is_in(&mut self) -> bool {
        let now = std::time::Instant::now();
        if self.last_check.is_some_and(|t| now - t < CHECK_EVERY) {
            return false;
        }
        self.last_check = Some(now);
        let held = match count() {
            Ok(Some(held)) => held,
            Ok(None) => return true,
            Err(e) => {
                eprintln!("labkit: {e}; the work stops here");
                return true;
            }
        };
        if held >= self.samples {
            return true;
        }
        let burned = process_cpu()
            .zip(self.cpu_start)
            .map_or(0.0, |(now, start)| now.saturating_sub(start).as_secs_f64());
        if held == 0 && burned > NOTHING_AFTER_CPU_SECONDS {
            eprintln!(
                "labkit: the CPU profiler took no sample in {burned:.1} s of CPU: this machine \
                 does not deliver its profiling signal (SIGPROF), so the work stops here"
            );
            return true;
        }
        if burned > self.samples as f64 / GIVE_UP_BELOW_HZ {
            eprintln!(
                "labkit: the CPU profiler collected {held} samples in {burned:.1} s of CPU \
                 (wanted {}): this machine's sampler delivers under {GIVE_UP_BELOW_HZ} samples \
                 per CPU-second, so the work stops here",
                self.samples
            );
            return true;
        }
        false
    }
}

impl Iterator for UntilSampled {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        if self.next >= self.at_least && self.evidence_is_in() {
            return None;
        }
        self.next += 1;
        Some(self.next - 1)
    }
}

/// The CPU time the whole process has used so far.
fn process_cpu() -> Option<std::time::Duration> {
    cpu_time::ProcessTime::try_now()
        .ok()
        .map(|t| t.as_duration())
}

/// pprof-rs keeps the samples that overflow its table in a named temporary
/// file (`/tmp/.tmpXXXXXX`, from `tempfile::NamedTempFile::new`, pprof-0.15.0
/// `src/collector.rs`), owned by the profiler's process-wide `static`. It
/// creates a new one each time the profiler stops (and removes the old one
/// then), but a `static` is never dropped, so the last one was never
/// removed: every profiled process left an empty file in `/tmp`.
///
/// So when a capture stops, this module finds the file pprof-rs just
/// created (the one that appeared among this process's open files) and
/// removes it. pprof-rs reopens that file by name when it builds a report,
/// so before the next capture starts, one throwaway start and stop makes it
/// create a fresh one. A process killed while it profiles still leaves one.
mod pprof_temp {
    use std::collections::BTreeSet;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Set when pprof-rs's current file has been removed.
    static REMOVED: AtomicBool = AtomicBool::new(false);

    /// Whether pprof-rs needs a fresh file before it profiles again.
    pub(super) fn removed() -> bool {
        REMOVED.swap(false, Ordering::AcqRel)
    }

    /// Undoes [`removed`] when no fresh file could be made.
    pub(super) fn still_removed() {
        REMOVED.store(true, Ordering::Release);
    }

    /// Stops the profiler and removes the file pprof-rs created for the
    /// next capture.
    pub(super) fn stopping(guard: pprof::ProfilerGuard<'static>) {
        let before = open_temp_files();
        drop(guard);
        let mut new = open_temp_files()
            .into_iter()
            .filter(|p| !before.contains(p));
        // Exactly one new file, or it cannot be told apart: leave it.
        if let (Some(file), None) = (new.next(), new.next())
            && std::fs::remove_file(file).is_ok()
        {
            REMOVED.store(true, Ordering::Release);
        }
    }

    /// The files this process holds open under `tempfile`'s default names
    /// in the temporary directory.
    #[cfg(target_os = "linux")]
    fn open_temp_files() -> BTreeSet<PathBuf> {
        let tmp = std::env::temp_dir();
        let Ok(fds) = std::fs::read_dir("/proc/self/fd") else {
            return BTreeSet::new();
        };
        fds.flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .filter(|p| {
                p.parent() == Some(tmp.as_path())
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(".tmp"))
            })
            .collect()
    }

    /// Elsewhere the file is left, as pprof-rs leaves it.
    #[cfg(not(target_os = "linux"))]
    fn open_temp_files() -> BTreeSet<PathBuf> {
        BTreeSet::new()
    }
}

/// Drops the frames of the profiler itself (the unwinder, the signal
/// handler, the signal trampoline) from the leaf end of a sample, so that
/// `go tool pprof -top` shows the program's hot function as `flat`, not
/// `backtrace::trace`.
fn strip_profiler_frames(frames: &mut pprof::Frames) {
    let is_profiler = |frame: &Vec<pprof::Symbol>| {
        frame
            .iter()
            .any(|symbol| profile::is_profiler_frame(&symbol.name()))
    };
    if let Some(last) = frames.frames.iter().rposition(is_profiler) {
        frames.frames.drain(..=last);
    }
}

/// The report as a pprof profile: two sample types (`samples`/`count`,
/// `cpu`/`nanoseconds`), a `thread` label on every sample, one function
/// per function name and file, and one location per distinct frame: the
/// inlined calls at one address with their lines, the outermost last, as
/// Go writes them. Two runs of one build therefore spell the same stack
/// the same way, line for line, and `go tool pprof -base` cancels them.
///
/// Each sample stands for `cpu_ns / samples` nanoseconds when the capture
/// measured the process's CPU time (`cpu_ns`): the kernel delivers at most
/// one sample per tick (100 to 1000 Hz by `CONFIG_HZ`) whatever rate is
/// asked, and drops the samples that arrive while one is pending, so the
/// asked rate's period (1/997 s) made every millisecond in `go tool pprof`
/// a quarter of the truth on a 250 Hz kernel. Without a measurement the
/// asked period stands.
fn encode(report: &pprof::Report, cpu_ns: Option<u64>) -> proto::Profile {
    let mut strings = Strings::default();
    let mut functions: Vec<proto::Function> = Vec::new();
    let mut function_of: HashMap<(String, String), u64> = HashMap::new();
    let mut locations: Vec<proto::Location> = Vec::new();
    let mut location_of: HashMap<Vec<(u64, i64)>, u64> = HashMap::new();
    let mut samples = Vec::new();
    let asked = 1_000_000_000 / i64::from(report.timing.frequency.max(1));
    let total: i64 = report.data.values().map(|&n| n as i64).sum();
    let measured = cpu_ns
        .and_then(|ns| i64::try_from(ns).ok())
        .filter(|&ns| ns > 0 && total > 0);
    let period = measured.map_or(asked, |ns| (ns / total).max(1));
    let thread = strings.index("thread");
    for (frames, &count) in &report.data {
        let mut location_id = Vec::new();
        for frame in &frames.frames {
            // The symbols of one address: the inlined callee first, the
            // function it was inlined into last.
            let lines: Vec<(u64, i64)> = frame
                .iter()
                .map(|symbol| {
                    let key = (symbol.name(), symbol.filename().into_owned());
                    let function_id = match function_of.get(&key) {
                        Some(&id) => id,
                        None => {
                            let id = functions.len() as u64 + 1;
                            functions.push(proto::Function {
                                id,
                                name: strings.index(&key.0),
                                system_name: strings.index(&symbol.sys_name()),
                                filename: strings.index(&key.1),
                                start_line: 0,
                            });
                            function_of.insert(key, id);
                            id
                        }
                    };
                    (function_id, i64::from(symbol.lineno()))
                })
                .collect();
            if lines.is_empty() {
                continue;
            }
            let id = match location_of.get(&lines) {
                Some(&id) => id,
                None => {
                    let id = locations.len() as u64 + 1;
                    locations.push(proto::Location {
                        id,
                        line: lines
                            .iter()
                            .map(|&(function_id, line)| proto::Line { function_id, line })
                            .collect(),
                        ..Default::default()
                    });
                    location_of.insert(lines, id);
                    id
                }
            };
            location_id.push(id);
        }
        let count = count as i64;
        samples.push(proto::Sample {
            location_id,
            value: vec![count, count.saturating_mul(period)],
            label: vec![proto::Label {
                key: thread,
                str: strings.index(&frames.thread_name_or_id()),
                ..Default::default()
            }],
        });
    }
    // `go tool pprof -comments` shows how the period was found.
    let comment = vec![strings.index(&if measured.is_none() {
        format!(
            "labkit: {} Hz asked; each sample counts as one period of that rate \
             (the capture could not read the process's CPU clock)",
            report.timing.frequency
        )
    } else {
        format!(
            "labkit: {} Hz asked, {total} samples delivered for {} ns of process CPU time: \
             each sample counts as {period} ns",
            report.timing.frequency,
            cpu_ns.unwrap_or(0)
        )
    })];
    let samples_count = proto::ValueType {
        ty: strings.index("samples"),
        unit: strings.index("count"),
    };
    let cpu_time = proto::ValueType {
        ty: strings.index("cpu"),
        unit: strings.index("nanoseconds"),
    };
    let since_epoch = report
        .timing
        .start_time
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    proto::Profile {
        sample_type: vec![samples_count, cpu_time],
        sample: samples,
        location: locations,
        function: functions,
        string_table: strings.table,
        time_nanos: i64::try_from(since_epoch.as_nanos()).unwrap_or(i64::MAX),
        duration_nanos: i64::try_from(report.timing.duration.as_nanos()).unwrap_or(i64::MAX),
        period_type: Some(cpu_time),
        period,
        comment,
        ..Default::default()
    }
}

/// A pprof string table: each string once, "" first.
struct Strings {
    table: Vec<String>,
    index: HashMap<String, i64>,
}

impl Default for Strings {
    fn default() -> Strings {
        Strings {
            table: vec![String::new()],
            index: HashMap::from([(String::new(), 0)]),
        }
    }
}

impl Strings {
    fn index(&mut self, s: &str) -> i64 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.table.len() as i64;
        self.table.push(s.to_owned());
        self.index.insert(s.to_owned(), i);
        i
    }
}

/// A finished CPU profile.
pub type CpuProfile = Recorded;

/// A CPU profile that lasts as long as a scope: it starts sampling when
/// created and, when dropped, stops and saves `cpu.pb.gz` and `cpu.svg`
/// into its directory (atomically, both or neither). If they cannot be
/// saved it says why and ends the process with exit code 1. Bind it to a
/// **name**:
///
/// ```no_run
/// # let dir = std::path::Path::new("lab-out/080");
/// {
///     let _profile = labkit::capture::ProfileScope::start(dir)?;
///     // ... the work to profile ...
/// } // saved here
/// # Ok::<(), labkit::Error>(())
/// ```
///
/// `let _ = ProfileScope::start(dir)?;` drops it on the same line: the
/// profile is saved at once, before any work, with no samples.
pub struct ProfileScope {
    capture: Option<Capture>,
    dir: std::path::PathBuf,
}

impl ProfileScope {
    pub fn start(dir: &std::path::Path) -> Result<ProfileScope, Error> {
        Ok(ProfileScope {
            capture: Some(Capture::start()?),
            dir: dir.to_path_buf(),
        })
    }
}

impl Drop for ProfileScope {
    fn drop(&mut self) {
        let Some(capture) = self.capture.take() else {
            return;
        };
        // Any older profile stays in place (the writes are atomic), and the
        // run ends with exit code 1.
        if let Err(e) = capture.stop().and_then(|p| p.save(&self.dir)) {
            crate::out::scope_failed("the CPU profile", &e);
        }
    }
}
