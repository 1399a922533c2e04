//! The learners' machines a verdict must hold on, emulated on this one.
//!
//! A learner's laptop may be ten times faster per core than the machine
//! the workbook was written on, and its kernel may tick at 100 Hz rather
//! than 250. Neither may change a verdict: a solution passes, with the
//! snapshot's very summary, and a lab fails with its documented symptom.
//! The solutions' tests (`selfcheck::passes_on_emulated_machines`, a tier
//! the quick suite ignores and CI runs: `cargo test -- --ignored emulated`)
//! run every solution on [`FAST_AT_100_HZ`], and the project check (`cargo
//! workbook check`) every lab on each of [`EMULATED`], through two settings
//! labkit reads from the environment.

use labkit::capture::SAMPLE_HZ_ENV;
use labkit::work::SPEEDUP_ENV;

/// One emulated machine: what it stands for, and the environment that
/// makes this machine behave like it.
#[derive(Debug, Clone, Copy)]
pub struct Machine {
    pub name: &'static str,
    pub env: &'static [(&'static str, &'static str)],
}

/// Both at once: a fast laptop whose kernel ticks at 100 Hz, the harshest
/// of the two for every verdict (the work shrinks against fixed costs, and
/// each sample costs 2.5 times more CPU). The solutions' tests run on this
/// one, which costs one run where the two would cost two; the project
/// check runs every lab on each of [`EMULATED`].
pub const FAST_AT_100_HZ: Machine = Machine {
    name: "a machine ten times faster per core, its kernel ticking at 100 Hz",
    env: &[(SPEEDUP_ENV, "10"), (SAMPLE_HZ_ENV, "100")],
};

/// A fast laptop: every `labkit::work` unit costs a tenth of the CPU, so
/// the workload's own work shrinks against everything that does not speed
/// up with it (thread start-up, channel hand-offs, system calls, the
/// profiler's own cost). A kernel ticking at 100 Hz: the sampler gets at
/// most 100 samples per CPU-second, 2.5 times fewer than here.
pub const EMULATED: &[Machine] = &[
    Machine {
        name: "a machine ten times faster per core",
        env: &[(SPEEDUP_ENV, "10")],
    },
    Machine {
        name: "a kernel ticking at 100 Hz",
        env: &[(SAMPLE_HZ_ENV, "100")],
    },
];
