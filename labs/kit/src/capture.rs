//! CPU profiles: labkit's own `SIGPROF` sampler ([`sampler`]), with
//! defaults that suit a 1–2 s lab run, written as Go writes them: a
//! location per address with its lines, the executable's mapping, and
//! milliseconds measured on the process's CPU clock.
//!
//! Why not pprof-rs, the crate the workbook began with: it counts samples
//! by each frame's *function* address (pprof-0.15.0 `src/frames.rs`,
//! `Hash for UnresolvedFrames`), keeping the first sample's return
//! addresses for all the rest, so every sample of a function showed the
//! line the first one happened to hit: `go tool pprof -list` annotated
//! nothing useful and `-base` cancelled two runs only by luck. Its table
//! (4 096 × 4 stacks of 128 frames, allocated whole) also stayed allocated
//! after a capture: 64 MiB a service carried for good.
//!
//! ```no_run
//! let capture = labkit::capture::Capture::start()?;
//! // ... the workload ...
//! let profile = capture.stop()?;
//! profile.save(std::path::Path::new("lab-out/083"))?;
//! # Ok::<(), labkit::Error>(())
//! ```

use crate::Error;
use crate::profile::Recorded;
use crate::proto;

/// Samples per second of CPU time we ask for (unless [`SAMPLE_HZ_ENV`]
/// emulates a slower kernel). The sampler is driven by
/// `setitimer(ITIMER_PROF)`, which the kernel only fires on its own tick
/// (250 Hz on the machines this workbook was measured on), so anything above
/// the tick rate is quietly capped. A prime number keeps the sampler from
/// marching in step with periodic work when the tick rate is higher.
pub const FREQUENCY_HZ: i32 = 997;

/// Shared libraries in which a sample is dropped rather than unwound.
///
/// The `SIGPROF` handler ([`sampler`]) checks this list against the one
/// address where the signal interrupted the program: if that address lies
/// in a listed library (a substring of its path), the sample is thrown away
/// whole, with its callers, and counted (the profile's comment says how
/// many). Nothing else on the stack is checked. So every
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
///   handler does not allocate: it writes the stack into a fixed table in
///   the program image, claimed with atomics. On this platform the
///   unwinder does not allocate or lock either (see `libgcc` above). And
///   libc is built with complete unwind tables, hand-written `memcpy` and
///   system-call stubs included, so the stack comes out whole: the sample
///   is charged to `memcpy` and to every caller above it, which is the
///   truth.
/// - `pthread`: since glibc 2.34 the thread functions live in libc itself
///   and `libpthread.so.0` is an empty placeholder that a Rust program does
///   not even load. (Before 2.34 it held the lock functions; interrupting
///   them was never the danger, since the handler takes no lock the program
///   can hold: it takes no lock at all.)
///
/// Matching is by substring of the library's path, so a short entry can
/// catch more than it names: `"libc"` also matched `libcap` or `libcrypto`.
///
/// Neither list covers the dynamic loader (`ld-linux-x86-64.so.2`), and
/// none ever did: unwinding from inside it is safe here because
/// `_dl_find_object` reads a second copy of the loader's tables while
/// `dlopen` updates the first (glibc `elf/dl-find_object.c`), and the
/// sampler runs one stack walk before it arms its timer, so libgcc's one-time
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

/// The rate asked of the sampler on this run: [`FREQUENCY_HZ`], or the
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

mod sampler;

/// The sampler of the capture that is running, if one is. A process has
/// one profiling timer, so one place holds it; that is what lets a
/// workload ask how many samples it has collected so far
/// ([`samples_so_far`]) without being handed the capture.
static RUNNING: parking_lot::Mutex<Option<sampler::Running>> = parking_lot::const_mutex(None);

/// A running CPU profiler. Sampling stops when it is dropped, so keep it in
/// a named binding (`let capture = …`, never `let _ = …`) for as long as the
/// work you want to see runs.
pub struct Capture {
    /// True until [`Capture::stop`] or the drop stops the profiler.
    running: bool,
    hz: i32,
    started: std::time::SystemTime,
    started_instant: std::time::Instant,
    /// The process's CPU clock when sampling began: what the samples stand
    /// for is measured, not assumed (see [`encode`]).
    cpu_at_start: Option<cpu_time::ProcessTime>,
}

impl Capture {
    /// Starts sampling the whole process at [`frequency_hz`].
    pub fn start() -> Result<Capture, Error> {
        let hz = frequency_hz()?;
        let mut running = RUNNING.lock();
        if running.is_some() {
            return Err(Error::new(
                "a CPU capture is already running in this process: stop it first \
                 (a process has one profiling timer)",
            ));
        }
        let started = std::time::SystemTime::now();
        let started_instant = std::time::Instant::now();
        *running = Some(
            sampler::start(hz)
                .map_err(|e| Error::new(format!("cannot start the CPU profiler: {e}")))?,
        );
        // After the start: its first stack walk, which loads the unwinding
        // tables, is no work of the program's.
        let cpu_at_start = cpu_time::ProcessTime::try_now().ok();
        Ok(Capture {
            running: true,
            hz,
            started,
            started_instant,
            cpu_at_start,
        })
    }

    /// Stops sampling and resolves the stacks to function names and lines.
    pub fn stop(mut self) -> Result<CpuProfile, Error> {
        if !std::mem::take(&mut self.running) {
            return Err(Error::new("this capture was already stopped"));
        }
        let Some(running) = RUNNING.lock().take() else {
            return Err(Error::new("this capture was already stopped"));
        };
        let samples = running.stop();
        let cpu = self
            .cpu_at_start
            .and_then(|start| start.try_elapsed().ok())
            .and_then(|d| u64::try_from(d.as_nanos()).ok());
        let timing = Timing {
            hz: self.hz,
            started: self.started,
            duration: self.started_instant.elapsed(),
        };
        let proto = encode(&samples, cpu, &timing);
        crate::stacks::release_symbols();
        Recorded::new(proto, "cpu", 0).map_err(|e| {
            Error::new(format!(
                "the sampler produced a profile we cannot read: {e}"
            ))
        })
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if std::mem::take(&mut self.running) {
            drop(RUNNING.lock().take());
        }
    }
}

/// How many samples the CPU capture running in this process holds so far,
/// or `None` when no capture runs: one atomic read.
pub fn samples_so_far() -> Option<u64> {
    count().ok().flatten()
}

fn count() -> Result<Option<u64>, String> {
    Ok(RUNNING.lock().as_ref().map(|_| sampler::taken()))
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

/// When and how a capture sampled.
struct Timing {
    hz: i32,
    started: std::time::SystemTime,
    duration: std::time::Duration,
}

/// The frame that stands for samples the sampler could not keep.
const LOST_FRAME: &str = "labkit::capture::samples_lost_table_full";

/// The samples as a pprof profile: two sample types (`samples`/`count`,
/// `cpu`/`nanoseconds`), a `thread` label on every sample and the labels
/// its code ran under ([`crate::labels`]), a location per
/// return address with the calls inlined there and their lines, in the
/// mapping it lies in, as Go writes them. Two runs of one build therefore
/// spell the same stack the same way, line for line, and `go tool pprof
/// -base` cancels them.
///
/// Each sample stands for `cpu_ns / samples` nanoseconds when the capture
/// measured the process's CPU time (`cpu_ns`): the kernel delivers at most
/// one sample per tick (100 to 1000 Hz by `CONFIG_HZ`) whatever rate is
/// asked, and drops the samples that arrive while one is pending, so the
/// asked rate's period (1/997 s) made every millisecond in `go tool pprof`
/// a quarter of the truth on a 250 Hz kernel. Without a measurement the
/// asked period stands.
fn encode(samples: &sampler::Samples, cpu_ns: Option<u64>, timing: &Timing) -> proto::Profile {
    let mut b = crate::stacks::Builder::new();
    let asked = 1_000_000_000 / i64::from(timing.hz.max(1));
    let kept: u64 = samples.counts.values().sum();
    let total = i64::try_from(kept + samples.lost).unwrap_or(i64::MAX);
    let measured = cpu_ns
        .and_then(|ns| i64::try_from(ns).ok())
        .filter(|&ns| ns > 0 && total > 0);
    let period = measured.map_or(asked, |ns| (ns / total).max(1));
    let mut stacks: Vec<(&sampler::Key, &u64)> = samples.counts.iter().collect();
    // A stable order: the same samples give the same file.
    stacks.sort();
    for (key, &count) in stacks {
        let location_id = b.stack(&key.ips, &crate::stacks::keep_all);
        let thread = if key.thread.is_empty() {
            format!("thread-{}", key.tid)
        } else {
            key.thread.clone()
        };
        let mut label = vec![b.label("thread", &thread)];
        label.extend(crate::labels::proto_labels(&mut b, key.labels));
        let count = count as i64;
        b.samples.push(proto::Sample {
            location_id,
            value: vec![count, count.saturating_mul(period)],
            label,
        });
    }
    if samples.lost > 0 {
        let location_id = vec![b.synthetic_location(LOST_FRAME)];
        let lost = samples.lost as i64;
        b.samples.push(proto::Sample {
            location_id,
            value: vec![lost, lost.saturating_mul(period)],
            label: Vec::new(),
        });
    }
    // `go tool pprof -comments` shows how the period was found.
    let how = if measured.is_none() {
        format!(
            "labkit: {} Hz asked; each sample counts as one period of that rate \
             (the capture could not read the process's CPU clock)",
            timing.hz
        )
    } else {
        format!(
            "labkit: {} Hz asked, {total} samples delivered for {} ns of process CPU time: \
             each sample counts as {period} ns",
            timing.hz,
            cpu_ns.unwrap_or(0)
        )
    };
    let mut comment = vec![b.string(&how)];
    if samples.skipped > 0 {
        comment.push(b.string(&format!(
            "labkit: {} samples dropped unwalked: the signal interrupted the unwinder or the \
             vDSO (labkit::capture::BLOCKLIST)",
            samples.skipped
        )));
    }
    let samples_count = b.value_type("samples", "count");
    let cpu_time = b.value_type("cpu", "nanoseconds");
    let since_epoch = timing
        .started
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    proto::Profile {
        sample_type: vec![samples_count, cpu_time],
        time_nanos: i64::try_from(since_epoch.as_nanos()).unwrap_or(i64::MAX),
        duration_nanos: i64::try_from(timing.duration.as_nanos()).unwrap_or(i64::MAX),
        period_type: Some(cpu_time),
        period,
        comment,
        ..b.finish()
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
