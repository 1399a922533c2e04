//! Every day of the workbook, in book order, declared once.
//!
//! An entry holds what cannot be derived: the day's module (`day083` is
//! Day 083: its id, its `check` and its `report` all come from it), its
//! month and week, its title, the symptom the lab as shipped must fail
//! with, and how the day is checked. Everything else follows from the id
//! by convention — the packages `lab-083` and `solution-083`, the page
//! `book/day-083.md`, the snapshot
//! `solutions/solution-083/tests/snapshots/solution__summary.snap`, the
//! output directory `lab-out/083/` — and `cargo workbook check` proves the
//! files are where the conventions say, the journal's rows and the pages'
//! navigation lines agree with the entries.
//!
//! The pages include each symptom from here (by the anchors `symptom-NNN`),
//! and the day's check reads it from here ([`symptom`]), so the book, the
//! self-check and CI's red check print the same sentence, typed once.
//!
//! To add a day: copy a lab, its solution, its day module and its page
//! under the new id, add one `day!` entry below, its SUMMARY.md line, its
//! journal row and the navigation lines, and run `cargo workbook check
//! --no-labs`: it names whatever is missing or disagrees.

use std::fmt::Display;
use std::path::{Path, PathBuf};

use crate::days;
use crate::service::Launch;
use crate::verdict::Failure;

/// One day of the workbook.
#[derive(Debug)]
pub struct Day {
    /// Three digits, as in `lab-083`: the name of the day's module.
    pub id: &'static str,
    /// Where the day sits in the journal: `Month 4 · Week 2`.
    pub week: &'static str,
    pub title: &'static str,
    /// What the lab's self-check observes as shipped (the `symptom:` line
    /// contains it; numbers may surround it): what can be seen, never its
    /// cause or its fix, which the learner finds.
    pub symptom: &'static str,
    /// Three hints, given one at a time (`cargo workbook hint NNN`): a
    /// question that sends the learner to the evidence (a red self-check
    /// prints it), the concept behind the pitfall, then the fix.
    pub hints: [&'static str; 3],
    pub check: Check,
    /// Whether a fixed lab must print exactly the solution's summary.
    /// Day 086 accepts any fix that cools the lock, and different fixes
    /// leave different contention behind.
    pub lab_matches_solution: bool,
}

/// How a day judges a program. Each returns the summary a passing check
/// prints (the solution's snapshot), or the day's [`Failure`].
#[derive(Debug, Clone, Copy)]
pub enum Check {
    /// Run the program with `--out DIR` to its end, then read what it
    /// wrote. `report` is what the program itself prints when it is done:
    /// what it wrote, and what is wrong with it or what to run next.
    Files {
        check: fn(&Path) -> Result<String, Failure>,
        report: fn(&Path),
    },
    /// Start the program as a service and drive it from outside.
    Service(fn(Launch, &Path, &Path) -> Result<String, Failure>),
}

fn shown<T: Display>(verdict: Result<T, Failure>) -> Result<String, Failure> {
    verdict.map(|summary| summary.to_string())
}

/// One registry entry, from the day's module: `module: day083` makes the
/// id `"083"` (the module's own `DAY`) and takes the check and report of
/// that module, so an entry cannot point at another day's code.
macro_rules! day {
    (
        module: $module:ident,
        week: $week:literal,
        title: $title:literal,
        check: $kind:ident,
        $(lab_matches_solution: $matches:literal,)?
        symptom: $symptom:literal,
        hints: [$hint1:literal, $hint2:literal, $hint3:literal $(,)?] $(,)?
    ) => {
        Day {
            id: days::$module::DAY,
            week: $week,
            title: $title,
            symptom: $symptom,
            hints: [$hint1, $hint2, $hint3],
            check: day!(@check $kind $module),
            lab_matches_solution: day!(@matches $($matches)?),
        }
    };
    (@check files $module:ident) => {
        Check::Files {
            check: |dir| shown(days::$module::check(dir)),
            report: days::$module::report,
        }
    };
    (@check service $module:ident) => {
        Check::Service(|launch, exe, dir| shown(days::$module::check(launch, exe, dir)))
    };
    (@matches) => {
        true
    };
    (@matches $matches:literal) => {
        $matches
    };
}

/// The days, in book order.
pub const DAYS: &[Day] = &[
    day! {
        module: day080,
        week: "Month 3 · Week 4",
        title: "a first CPU profile",
        check: files,
        // ANCHOR: symptom-080
        symptom: "cpu profile has 0 samples",
        // ANCHOR_END: symptom-080
        hints: [
            "The batch ran for a second or more of CPU, yet the profile holds nothing. Look at `go tool pprof -top lab-out/080/cpu.pb.gz` and at main: which line starts the profiler, and until when does the value it returns live?",
            "A profiler records while its guard lives and writes when the guard is dropped. `let _ = value;` binds nothing: the value is dropped at the end of that statement, unlike `let _name = value;`, which lives to the end of the block. rustc's allow-by-default lint `let_underscore_drop` flags exactly this line (`#![warn(let_underscore_drop)]`).",
            "Give the guard a name that starts with an underscore, `let _profile = ProfileScope::start(&out_dir)?;`, so it lives until the end of the block and the work runs inside it.",
        ],
    },
    day! {
        module: day081,
        week: "Month 3 · Week 4",
        title: "sampling is statistics",
        check: files,
        // ANCHOR: symptom-081
        symptom: "too few to rank hash and compress",
        // ANCHOR_END: symptom-081
        hints: [
            "Run the lab three times and compare the rankings. How many samples does each profile hold (`go tool pprof -raw lab-out/081/cpu.pb.gz | grep -c '^ '` or `cargo run -p labkit -- summary`), and what decides that number: the loop, the machine, the kernel's tick?",
            "Each sample is a random draw: a share measured from n samples is within about 98/√n points of the truth, 95 % of the time, so a few dozen samples can swap a 60 % function and a 20 % one. A fixed loop gives fewer samples on a faster CPU or a kernel that ticks at 100 Hz: size a run by the samples it needs, not by its loop count.",
            "Repeat the blocks until the profile holds 400 samples: `for _round in until_sampled(1, SAMPLES) { black_box(process_blocks(BLOCKS)); }` with `const SAMPLES: u64 = 400;` (`labkit::capture::until_sampled`).",
        ],
    },
    day! {
        module: day082,
        week: "Month 3 · Week 4",
        title: "whose CPU is it?",
        check: files,
        // ANCHOR: symptom-082
        symptom: "the worker threads cannot be told apart",
        // ANCHOR_END: symptom-082
        hints: [
            "Read the profile by thread: `cargo run -p labkit -- summary lab-out/082/partitioned/cpu.pb.gz --by-thread`, or `go tool pprof -tags` on it. What does the `thread` label say for each worker, and where does a profiler take that label from?",
            "A profiler labels each sample with the sampled thread's name as the kernel keeps it (`/proc/PID/task/TID/comm`). `std::thread::spawn` gives a thread no name of its own, so on Linux it keeps the name it was created with, its creator's: every worker reads the same, and per-thread views merge them.",
            "Spawn each worker through `thread::Builder::new().name(format!(\"worker-{i}\")).spawn(...)`, in both pools (enumerate the partitions for `i`).",
        ],
    },
    day! {
        module: day083,
        week: "Month 3 · Week 4",
        title: "profiling concurrent code",
        check: files,
        // ANCHOR: symptom-083
        symptom: "cpu profile is 0 bytes",
        // ANCHOR_END: symptom-083
        hints: [
            "The program said it wrote lab-out/083/cpu.pb.gz. How big is the file (`ls -l lab-out/083/`), and what does `go tool pprof -top` make of it? Follow the profile's bytes through main to the disk: what holds them on the way, and how does the program end?",
            "A `BufWriter` keeps bytes in memory until it is flushed or dropped, and `std::process::exit` ends the process at once, without running destructors: what the buffer held is lost, with no error anywhere. A file that must survive the exit is written whole, and checked, before it.",
            "Write the profile whole before the exit: with `labkit::atomic` (a temporary file, flushed and fsynced, then renamed over the old one), or at least `out.flush()` with its error checked before `process::exit`.",
        ],
    },
    day! {
        module: day084,
        week: "Month 3 · Week 4",
        title: "heap profiles",
        check: files,
        // ANCHOR: symptom-084
        symptom: "what the text needs",
        // ANCHOR_END: symptom-084
        hints: [
            "Read the heap summary the lab prints (or `cargo run -p labkit -- summary lab-out/084/dhat-heap.json`): which function's allocations are still live at the peak, how many bytes, and how many bytes of text do the receipts actually hold? What else travels inside a receipt?",
            "A `String` owns its whole buffer: `len` bytes of text in `capacity` bytes of memory. Returning a `String` built in a big scratch buffer keeps the whole buffer alive for as long as the string lives; `shrink_to_fit` or a copy gives back the difference.",
            "Return a copy as long as the text, `scratch.as_str().to_owned()`, and let the 64 KiB scratch buffer be freed as `build_receipt` returns.",
        ],
    },
    day! {
        module: day085,
        week: "Month 4 · Week 1",
        title: "the block profile",
        check: files,
        // ANCHOR: symptom-085
        symptom: "block profile has 0 contentions",
        // ANCHOR_END: symptom-085
        hints: [
            "The CPU profile says the program spent little time computing, so where did the wall time go? Read both profiles it wrote. The block profile holds no event at all: is that what the program did, or what the profiler was asked to record? Look for where main configures it.",
            "Like Go's `runtime.SetBlockProfileRate`, labkit's block profile records nothing until a program sets a rate: the default is 0, off. A rate of 1 records every wait; a larger rate (in nanoseconds) samples the short waits and keeps the long ones.",
            "At the start of main, before the pipeline starts: `contention::set_block_profile_rate(1)?;` (a lab records every wait; a service would pick about 10_000).",
        ],
    },
    day! {
        module: day086,
        week: "Month 4 · Week 1",
        title: "the mutex profile",
        check: files,
        lab_matches_solution: false,
        // ANCHOR: symptom-086
        symptom: "waiting for one lock took",
        // ANCHOR_END: symptom-086
        hints: [
            "Open the mutex profile (`go tool pprof -top lab-out/086/mutex.pb.gz`, or `cargo run -p labkit -- summary` on it): which function's unlocks kept the rest of the workers waiting? Then read that function: what does it do while it holds the lock?",
            "A mutex profile charges the waiting to the code that held the lock. A critical section that does slow work (formatting, I/O, a long computation) makes every other thread wait that long; the usual cure is to do the slow part outside and hold the lock only to update shared state, or to give each thread its own state and merge at the end.",
            "Do the slow work before taking the lock and hold it only to update the counters, or let each worker keep its own `Stats` and merge them when the workers finish (the solution's `merged`).",
        ],
    },
    day! {
        module: day087,
        week: "Month 4 · Week 1",
        title: "task dumps and leaks",
        check: files,
        // ANCHOR: symptom-087
        symptom: "more tasks wait in await_reply (channel receive) after 20 more requests",
        // ANCHOR_END: symptom-087
        hints: [
            "Compare the two task dumps the lab wrote (the summary shows `labkit::tasks::diff` of them): which group grew with the requests, and what is each of those tasks waiting for? Who was meant to answer it, and what happens on the path where the answer is late?",
            "A task waiting on a channel's receive ends when a value arrives or when every sender is gone. A sender kept somewhere (a map of pending requests) keeps its receiver waiting forever: the task leaks, and only a dump or a task count shows it.",
            "On the timeout path, remove the request's entry from `service.pending` (dropping its sender), so the waiting task sees the channel closed and ends.",
        ],
    },
    day! {
        module: day088,
        week: "Month 4 · Week 1",
        title: "dumps on demand",
        check: service,
        // ANCHOR: symptom-088
        symptom: "the service died on SIGQUIT",
        // ANCHOR_END: symptom-088
        hints: [
            "Start the service and send it what a Go engineer sends for a dump: `kill -QUIT <pid>` (the service prints its pid). What exit status does the shell report, and did a dump appear? What does a Rust program do with a signal it never asked about?",
            "Go's runtime catches SIGQUIT and prints every goroutine's stack. A Rust program installs no handler, so the kernel's default action applies: the process dies, with a core dump where they are enabled. A service that wants dumps on SIGQUIT must listen for it, and then keep running.",
            "In main, watch `signal(SignalKind::quit())` and spawn the `on_quit` task that is already written (unused): `tokio::spawn(on_quit(quit, tokio::runtime::Handle::current(), out_dir.clone()))`. Each SIGQUIT then writes a task dump, and the service keeps running.",
        ],
    },
    day! {
        module: day089,
        week: "Month 4 · Week 1",
        title: "live profiling a tokio service",
        check: service,
        // ANCHOR: symptom-089
        symptom: "requests wait while a CPU profile is taken",
        // ANCHOR_END: symptom-089
        hints: [
            "Run the service, ask for `curl -o cpu.pb.gz 'http://127.0.0.1:8089/debug/pprof/profile?seconds=5'`, and meanwhile `curl http://127.0.0.1:8089/stats` in another terminal. How long does /stats take, and which thread is the profile handler running on while it waits for its seconds to pass?",
            "The service runs tokio's current-thread runtime: one thread polls every task. A handler that blocks that thread (a sleep, a blocking system call, a long computation) stalls every other request until it returns. Blocking work belongs on threads of its own.",
            "Run the capture on tokio's blocking pool and await it: `tokio::task::spawn_blocking(move || capture(seconds, capturing)).await`.",
        ],
    },
    day! {
        module: day090,
        week: "Month 4 · Week 2",
        title: "execution traces",
        check: files,
        // ANCHOR: symptom-090
        symptom: "the trace has no spans",
        // ANCHOR_END: symptom-090
        hints: [
            "Open lab-out/090/trace.json in https://ui.perfetto.dev (or `cargo run -p labkit -- summary` it): which spans does it hold? When was the recorder running, compared with the pipeline? Find the line in main that starts it.",
            "tracing-chrome records while its flush guard lives and finishes the file when the guard is dropped. `let _ = value;` drops the guard at the end of that statement, as on Day 080.",
            "Bind the guard to a name: `let _trace = TraceScope::start(&out_dir)?;` keeps it until the end of the block, around the pipeline.",
        ],
    },
    day! {
        module: day091,
        week: "Month 4 · Week 2",
        title: "benchmarks that profile",
        check: files,
        // ANCHOR: symptom-091
        symptom: "criterion did not time checksum",
        // ANCHOR_END: symptom-091
        hints: [
            "Compare the time per iteration criterion printed with the yardstick the lab timed by hand for one call of checksum (both at the end of the run). Then open the benchmark's profile: what share of it is checksum at all? What did the optimiser see in the benchmark's closure?",
            "An optimiser may delete a call whose result nobody uses, and fold one whose input it can see. A benchmark keeps both opaque: its result returned to the harness (criterion passes it through `black_box`), its input through `std::hint::black_box`. Go 1.24's `for b.Loop()` keeps a loop body's results alive for you.",
            "Return the result from the closure and hide the input: `b.iter(|| checksum(black_box(data)))`.",
        ],
    },
    day! {
        module: day092,
        week: "Month 4 · Week 2",
        title: "cores and pools",
        check: files,
        // ANCHOR: symptom-092
        symptom: "the heartbeat waited for whole jobs",
        // ANCHOR_END: symptom-092
        hints: [
            "Read the profile by thread (`cargo run -p labkit -- summary lab-out/092/cpu.pb.gz --by-thread`, or `go tool pprof -tags`): which threads ran hash_upload? What else had to run on those threads, and how late was it?",
            "tokio's worker threads poll every task; a task that computes without reaching an `.await` holds its worker until it is done, and every task queued behind it (the heartbeat) waits. CPU-bound work belongs on threads that do nothing else: tokio's blocking pool, or a pool sized to the cores.",
            "Hand each job to the blocking pool: `tokio::task::spawn_blocking(move || hash_upload(upload))` instead of `tokio::spawn(async move { hash_upload(upload) })`.",
        ],
    },
    day! {
        module: day093,
        week: "Month 4 · Week 2",
        title: "compare before and after",
        check: files,
        // ANCHOR: symptom-093
        symptom: "the program's comparison misreads the profiles",
        // ANCHOR_END: symptom-093
        hints: [
            "Look at both sides' totals first: `go tool pprof -top` on a before and an after profile (or `cargo run -p labkit -- summary` on each). Were the runs the same length? Then ask what \"slower\" can mean when one run served twice the requests, and how far one run's numbers move by chance.",
            "A profile's sample counts grow with the run's length. Compare each function's share of its own side's samples, and call a change only beyond what sampling explains: pooling several runs of each version shrinks that margin as √n.",
            "Profile `day093::MIN_RUNS` runs of each version and compare them with `labkit::diff::diff` (shares, beyond the margin), as the solution's `compare` does, instead of raw sample counts.",
        ],
    },
    day! {
        module: day094,
        week: "Month 4 · Week 2",
        title: "a deadlock",
        check: service,
        // ANCHOR: symptom-094
        symptom: "deadlock: threads wait on locks and no move completes",
        // ANCHOR_END: symptom-094
        hints: [
            "Open the thread dump the watchdog wrote (lab-out/094/goroutines.txt): which threads are in `sync.Mutex.Lock`, and at which line of the lab is each one? Read those two functions: which lock does each already hold while it waits for the other?",
            "Two threads that each hold one lock and wait for the other's wait forever: neither lock is ever released. It can happen only when the threads take the same locks in different orders; if every thread takes them in one agreed order, the first to get the first lock always gets the second too.",
            "Make `return_one` take the locks in the same order as `restock_one`: the warehouse first, then the shop (and still move the item from the shop to the warehouse). The solution puts the order in one place, `fn lock_both(store: &Store)`, which both moves call.",
        ],
    },
    day! {
        module: day095,
        week: "Month 4 · Week 2",
        title: "whose CPU is it? labels",
        check: files,
        // ANCHOR: symptom-095
        symptom: "the kind labels disagree with the work each kind did",
        // ANCHOR_END: symptom-095
        hints: [
            "Both kinds of request run the same `render`, so only the `kind` label can tell them apart. Compare `go tool pprof -tags lab-out/095/cpu.pb.gz` (or `cargo run -p labkit -- summary --by-label kind lab-out/095/cpu.pb.gz`) with lab-out/095/pages.txt: which kind does the profile blame, and which rendered the pages? Then read `handle`: where is the label set, and what runs between setting it and `render`?",
            "A label set with `labels::set_thread` belongs to the OS thread, not to the request. A tokio task gives up its thread at every `.await`; other tasks run there meanwhile and set their own label, and when the task resumes (on that thread or another) it renders under whatever label the last one left. Go keeps labels on the goroutine for this reason; a Rust future has to carry them itself.",
            "Carry the label with the task: wrap the request's future in `labels::task(kind_labels(request.kind), async move { … }).await` (or spawn `labels::task(…, handle(request))`), which sets the labels on every poll, on whichever thread polls it, and drop the `set_thread` call.",
        ],
    },
];

impl Day {
    /// The registry entry for `id` (`"083"`).
    pub fn get(id: &str) -> Option<&'static Day> {
        DAYS.iter().find(|d| d.id == id)
    }

    /// The day of a package: `lab-083` or `solution-083` is Day 083. A
    /// package the registry does not know is a mistake in the workspace,
    /// told plainly.
    pub fn from_package(package: &str) -> &'static Day {
        package
            .strip_prefix("lab-")
            .or_else(|| package.strip_prefix("solution-"))
            .and_then(Day::get)
            .unwrap_or_else(|| {
                panic!(
                    "package {package:?} is not a day of the registry \
                     (labs/workbook/src/registry.rs): add an entry for it"
                )
            })
    }

    /// The closing lines of a run that wrote into `dir`: what it wrote,
    /// then what is wrong and where to read about it, or the summary and
    /// what to run next. A lab's or solution's `main` ends with it.
    pub fn report(&self, dir: &Path) {
        match self.check {
            Check::Files { report, .. } => report(dir),
            _ => panic!(
                "Day {}'s programs are services: they report as they serve",
                self.id
            ),
        }
    }

    /// The lab's package name, `lab-083`.
    pub fn lab(&self) -> String {
        format!("lab-{}", self.id)
    }

    /// The solution's package name, `solution-083`.
    pub fn solution(&self) -> String {
        format!("solution-{}", self.id)
    }

    /// The lab's directory, relative to the workspace root.
    pub fn lab_dir(&self) -> PathBuf {
        Path::new("labs").join(self.lab())
    }

    /// The solution's directory, relative to the workspace root.
    pub fn solution_dir(&self) -> PathBuf {
        Path::new("solutions").join(self.solution())
    }

    /// The book page, relative to the workspace root.
    pub fn page(&self) -> String {
        format!("book/day-{}.md", self.id)
    }

    /// The page's file name, as SUMMARY.md links it.
    pub fn page_file(&self) -> String {
        format!("day-{}.md", self.id)
    }

    /// The solution's snapshot, relative to the workspace root: every
    /// solution's test is `tests/solution.rs` and snapshots `"summary"`.
    pub fn snapshot(&self) -> PathBuf {
        self.solution_dir()
            .join("tests/snapshots/solution__summary.snap")
    }

    /// Where a run writes when `--out` is not given: `lab-out/083/` under
    /// the workspace root (git-ignored).
    pub fn default_out(&self) -> PathBuf {
        crate::root().join("lab-out").join(self.id)
    }
}

/// The first hint of the day `id`, the question a red self-check asks:
/// where to look, never the fix. Evaluated at compile time.
pub const fn first_hint(id: &str) -> &'static str {
    let mut i = 0;
    while i < DAYS.len() {
        if same(DAYS[i].id, id) {
            return DAYS[i].hints[0];
        }
        i += 1;
    }
    panic!("a day module without a registry entry")
}

/// The documented symptom of the day `id`, for its check to print (a day
/// module's `SYMPTOM`): the sentence is typed once, in its registry entry.
/// Evaluated at compile time; an id with no entry does not compile.
pub const fn symptom(id: &str) -> &'static str {
    let mut i = 0;
    while i < DAYS.len() {
        if same(DAYS[i].id, id) {
            return DAYS[i].symptom;
        }
        i += 1;
    }
    panic!("a day module without a registry entry")
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The id of a day module, from its path (`workbook::days::day083` →
/// `"083"`), so a module never types its id again.
pub const fn module_day(module_path: &'static str) -> &'static str {
    let bytes = module_path.as_bytes();
    let (_, id) = bytes.split_at(bytes.len() - 3);
    match std::str::from_utf8(id) {
        Ok(id) => id,
        Err(_) => panic!("a day module is named dayNNN"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_three_digits_unique_and_in_book_order() {
        let ids: Vec<&str> = DAYS.iter().map(|d| d.id).collect();
        for id in &ids {
            assert!(
                id.len() == 3 && id.bytes().all(|b| b.is_ascii_digit()),
                "{id}"
            );
        }
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(ids, sorted);
    }

    #[test]
    fn packages_name_their_day() {
        assert_eq!(Day::from_package("lab-083").id, "083");
        assert_eq!(
            Day::from_package("solution-089").title,
            "live profiling a tokio service"
        );
        assert_eq!(
            Day::get("083").unwrap().snapshot(),
            Path::new("solutions/solution-083/tests/snapshots/solution__summary.snap")
        );
        assert_eq!(days::day083::DAY, "083");
        assert_eq!(days::day092::DAY, "092");
    }
}
