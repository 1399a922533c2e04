//! CPU profiles with pprof-rs, with defaults that suit a 1–2 s lab run.
//!
//! ```no_run
//! let capture = labkit::capture::Capture::start()?;
//! // ... the workload ...
//! let profile = capture.stop()?;
//! profile.save(std::path::Path::new("lab-out/083"))?;
//! # Ok::<(), labkit::Error>(())
//! ```

use crate::Error;
use crate::profile::{self, Recorded};

/// Samples per second of CPU time we ask for. pprof-rs drives sampling with
/// `setitimer(ITIMER_PROF)`, which the kernel only fires on its own tick
/// (250 Hz on the machines this workbook was measured on), so anything above
/// the tick rate is quietly capped. A prime number keeps the sampler from
/// marching in step with periodic work when the tick rate is higher.
pub const FREQUENCY_HZ: i32 = 997;

/// Shared libraries whose code the profiler will not unwind from. Unwinding
/// through a signal that landed inside libc or the unwinder itself can
/// deadlock (a sample taken while `malloc` holds its lock, say), so pprof-rs
/// drops those samples instead. They are a small share of a lab's run.
pub const BLOCKLIST: &[&str] = &["libc", "libgcc", "pthread", "vdso"];

/// The names files are saved under.
pub const PPROF_FILE: &str = "cpu.pb.gz";
pub const FLAME_FILE: &str = "cpu.svg";

/// A running CPU profiler. Sampling stops when it is dropped, so keep it in
/// a named binding (`let capture = …`, never `let _ = …`) for as long as the
/// work you want to see runs.
pub struct Capture {
    guard: pprof::ProfilerGuard<'static>,
}

impl Capture {
    /// Starts sampling the whole process at [`FREQUENCY_HZ`].
    pub fn start() -> Result<Capture, Error> {
        let guard = pprof::ProfilerGuardBuilder::default()
            .frequency(FREQUENCY_HZ)
            .blocklist(BLOCKLIST)
            .build()
            .map_err(|e| Error::new(format!("cannot start the CPU profiler: {e}")))?;
        Ok(Capture { guard })
    }

    /// Stops sampling and resolves the stacks to function names.
    pub fn stop(self) -> Result<CpuProfile, Error> {
        let report = self
            .guard
            .report()
            .frames_post_processor(strip_profiler_frames)
            .build()
            .map_err(|e| Error::new(format!("cannot build the CPU profile: {e}")))?;
        drop(self.guard);
        let proto = report
            .pprof()
            .map_err(|e| Error::new(format!("cannot encode the CPU profile: {e}")))?;
        Recorded::new(proto, "cpu", 0)
            .map_err(|e| Error::new(format!("pprof-rs produced a profile we cannot read: {e}")))
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

/// A finished CPU profile.
pub type CpuProfile = Recorded;

/// A CPU profile that lasts as long as a scope: it starts sampling when
/// created and, when dropped, stops and saves `cpu.pb.gz` and `cpu.svg`
/// into its directory (atomically). Bind it to a **name**:
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
        // A destructor cannot return an error; say it, and leave any older
        // profile in place (the writes are atomic).
        if let Err(e) = capture.stop().and_then(|p| p.save(&self.dir)) {
            eprintln!("labkit: the CPU profile was not saved: {e}");
        }
    }
}
