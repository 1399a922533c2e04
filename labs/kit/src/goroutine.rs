//! Go's goroutine profile for a Rust program: every OS thread (from
//! [`crate::thread_dump`]) and every tokio task (from its runtime's task
//! dump), each with a state in Go's words, written in Go's three forms:
//!
//! - [`Goroutines::to_pprof`], `debug=0`: a pprof profile of sample type
//!   `goroutine`/`count`, one sample per distinct stack with how many
//!   threads or tasks stand on it, as `go tool pprof` reads from
//!   `/debug/pprof/goroutine`;
//! - [`Goroutines::debug1`]: the grouped text (`goroutine profile: total
//!   N`, then `count @ addresses` and a `#` line per frame), as Go's
//!   `printCountProfile` writes it;
//! - [`Goroutines::debug2`]: one entry per thread or task, as Go's
//!   traceback prints a goroutine: `goroutine ID [state]:`, a function
//!   line and a `\tfile:line` line per frame, a `created by` where the
//!   spawn site is known.
//!
//! A thread's id is its kernel thread id; a task's is tokio's task id. The
//! header says which it is: `goroutine 4242 [sync.Mutex.Lock, thread
//! worker-1]:`, `goroutine 7 [chan receive, task]:`.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use crate::proto;
use crate::stacks::{Builder, Symbol};
use crate::thread_dump::{KernelState, ThreadStack};

/// One frame, innermost first in a stack.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Frame {
    pub function: String,
    pub file: String,
    pub line: u32,
    /// The return address (the interrupted instruction's plus one at the
    /// innermost frame) for a thread's frame; inlined calls share their
    /// caller's. `None` for a task's frame, which tokio reports by name.
    pub address: Option<usize>,
    /// `address` minus the function's first instruction, when known.
    pub offset: Option<usize>,
}

/// What a goroutine of ours is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Thread,
    Task,
}

/// One thread or task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goroutine {
    pub id: u64,
    pub kind: Kind,
    /// The thread's name; empty for a task.
    pub name: String,
    /// Go's wait reason or status: `sync.Mutex.Lock`, `chan receive`,
    /// `running`, … (see [`thread_state`]).
    pub state: String,
    /// Innermost first. Empty when the thread did not answer (`note` says
    /// why).
    pub frames: Vec<Frame>,
    /// Return addresses, innermost first (threads only): what the pprof
    /// form is keyed by.
    pub ips: Vec<usize>,
    /// Where it was spawned, when known (`created by`).
    pub created_by: Option<Frame>,
    pub note: Option<String>,
    /// The labels its code ran under ([`crate::labels`]): a thread's, read
    /// with its stack; a task's, those of the innermost
    /// [`crate::labels::task`] scope it is parked in.
    pub labels: crate::labels::LabelSet,
}

/// A goroutine profile: threads first, by id, then tasks, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Goroutines {
    pub all: Vec<Goroutine>,
    /// Why the tasks are not listed, when a task dump was asked for and
    /// refused (written at the top of every form).
    pub tasks_missing: Option<String>,
}

/// Symbols at the innermost end of a stack that belong to the dump, not
/// to the thread: the dumping thread's own walk.
fn dump_frames(names: &[&str]) -> usize {
    crate::stacks::leading(
        names,
        &[
            "backtrace::",
            "labkit::thread_dump::",
            "labkit::goroutine::",
        ],
    )
}

impl Goroutines {
    /// Every thread of the process now (see [`crate::thread_dump::capture`]).
    pub fn of_threads(answer_within: std::time::Duration) -> Result<Goroutines, crate::Error> {
        let stacks = crate::thread_dump::capture(answer_within)?;
        Ok(Goroutines::from_stacks(stacks))
    }

    /// Symbolises threads' stacks.
    pub fn from_stacks(mut stacks: Vec<ThreadStack>) -> Goroutines {
        stacks.sort_by_key(|s| s.tid);
        let mut builder = Builder::new();
        let all = stacks
            .into_iter()
            .map(|s| {
                let frames = symbolise(&mut builder, &s.ips);
                let names: Vec<&str> = frames.iter().map(|f| f.function.as_str()).collect();
                let state = thread_state(&names, &s.kernel);
                Goroutine {
                    id: u64::from(s.tid),
                    kind: Kind::Thread,
                    name: s.name,
                    state,
                    frames,
                    ips: s.ips,
                    created_by: None,
                    note: s.missing,
                    labels: s.labels,
                }
            })
            .collect();
        Goroutines {
            all,
            tasks_missing: None,
        }
    }

    /// How many threads and tasks.
    pub fn count(&self, kind: Kind) -> usize {
        self.all.iter().filter(|g| g.kind == kind).count()
    }

    /// The pprof form (`debug=0`): one sample per distinct stack and
    /// state, valued by how many stand there. Each sample carries a
    /// `state` label (`-tagfocus state=sync.Mutex.Lock`) and a `kind` label
    /// (`thread` or `task`).
    pub fn to_pprof(&self) -> proto::Profile {
        let mut builder = Builder::new();
        let mut named: HashMap<(String, String, u32), u64> = HashMap::new();
        type Group = (Vec<u64>, String, Kind, crate::labels::LabelSet);
        let mut groups: BTreeMap<Group, i64> = BTreeMap::new();
        for g in &self.all {
            let locations = match g.kind {
                Kind::Thread if !g.ips.is_empty() => builder.stack(&g.ips, &dump_frames),
                Kind::Thread => vec![builder.synthetic_location("labkit::thread_dump::no_stack")],
                Kind::Task => g
                    .frames
                    .iter()
                    .map(|f| {
                        *named
                            .entry((f.function.clone(), f.file.clone(), f.line))
                            .or_insert_with(|| {
                                builder.named_location(&f.function, &f.file, i64::from(f.line))
                            })
                    })
                    .collect(),
            };
            *groups
                .entry((locations, g.state.clone(), g.kind, g.labels))
                .or_insert(0) += 1;
        }
        for ((location_id, state, kind, labels), count) in groups {
            let mut label = vec![
                builder.label("state", &state),
                builder.label("kind", kind_name(kind)),
            ];
            for (key, value) in labels.pairs() {
                label.push(builder.label(&key, &value));
            }
            builder.samples.push(proto::Sample {
                location_id,
                value: vec![count],
                label,
            });
        }
        let mut comment = format!(
            "labkit: {} OS threads and {} tokio tasks",
            self.count(Kind::Thread),
            self.count(Kind::Task)
        );
        if let Some(why) = &self.tasks_missing {
            let _ = write!(comment, "; {why}");
        }
        builder.finish_counts("goroutine", &comment)
    }

    /// [`Goroutines::to_pprof`], encoded and gzipped, as a file or an
    /// endpoint serves it.
    pub fn to_pprof_gz(&self) -> Vec<u8> {
        crate::stacks::gzipped(&self.to_pprof())
    }

    /// The grouped text (`debug=1`), as Go's `printCountProfile` writes
    /// it: the groups by count, most first. A task's frames have no
    /// address (tokio reports them by name); they get stand-in addresses
    /// from 0x1000 up, one per distinct frame, so that pprof's parser
    /// still groups them.
    pub fn debug1(&self) -> String {
        let mut stand_in: HashMap<&Frame, usize> = HashMap::new();
        let mut groups: BTreeMap<(Vec<usize>, crate::labels::LabelSet), (usize, &Goroutine)> =
            BTreeMap::new();
        for g in &self.all {
            let addresses: Vec<usize> = match g.kind {
                // The dumping thread's own frames are not its work.
                Kind::Thread => g.ips[own_frames(g)..].to_vec(),
                Kind::Task => g
                    .frames
                    .iter()
                    .map(|f| {
                        let next = 0x1000 + 0x10 * stand_in.len();
                        *stand_in.entry(f).or_insert(next)
                    })
                    .collect(),
            };
            groups.entry((addresses, g.labels)).or_insert((0, g)).0 += 1;
        }
        let mut groups: Vec<(Vec<usize>, usize, &Goroutine)> = groups
            .into_iter()
            .map(|((a, _), (n, g))| (a, n, g))
            .collect();
        groups.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut out = format!("goroutine profile: total {}\n", self.all.len());
        if let Some(why) = &self.tasks_missing {
            let _ = writeln!(out, "# {why}\n");
        }
        for (addresses, count, g) in groups {
            let _ = write!(out, "{count} @");
            for a in &addresses {
                let _ = write!(out, " {a:#x}");
            }
            // Go's `labelMap.String`: `{"key":"value", …}`, sorted.
            let labels = g.labels.pairs();
            if !labels.is_empty() {
                let pairs: Vec<String> =
                    labels.iter().map(|(k, v)| format!("{k:?}:{v:?}")).collect();
                let _ = write!(out, "\n# labels: {{{}}}", pairs.join(", "));
            }
            out.push('\n');
            for f in frames_for_text(g) {
                let address = f.address.or_else(|| stand_in.get(f).copied()).unwrap_or(0);
                // Go writes `function+offset`; an offset we do not know
                // is left out rather than written as +0x0.
                let offset = f.offset.map_or(String::new(), |o| format!("+{o:#x}"));
                let _ = writeln!(
                    out,
                    "#\t{address:#x}\t{}{offset}\t{}:{}",
                    f.function, f.file, f.line
                );
            }
            out.push('\n');
        }
        out
    }

    /// One entry per thread and task (`debug=2`), as Go's traceback
    /// prints goroutines.
    pub fn debug2(&self) -> String {
        let mut out = String::new();
        if let Some(why) = &self.tasks_missing {
            let _ = writeln!(out, "# {why}\n");
        }
        for g in &self.all {
            let who = match g.kind {
                Kind::Thread if g.name.is_empty() => "thread".to_string(),
                Kind::Thread => format!("thread {}", g.name),
                Kind::Task => "task".to_string(),
            };
            let _ = writeln!(out, "goroutine {} [{}, {who}]:", g.id, g.state);
            let frames = frames_for_text(g);
            if frames.is_empty() {
                let why = g.note.as_deref().unwrap_or("no frames");
                let _ = writeln!(out, "\tstack unavailable: {why}");
            }
            for f in frames {
                let _ = writeln!(out, "{}(...)", f.function);
                match f.offset {
                    Some(offset) => {
                        let _ = writeln!(out, "\t{}:{} +{offset:#x}", file_or(f), f.line);
                    }
                    None => {
                        let _ = writeln!(out, "\t{}:{}", file_or(f), f.line);
                    }
                }
            }
            if let Some(spawn) = &g.created_by {
                let _ = writeln!(out, "created by {}", spawn.function);
                let _ = writeln!(out, "\t{}:{}", file_or(spawn), spawn.line);
            }
            out.push('\n');
        }
        out
    }
}

fn file_or(f: &Frame) -> &str {
    if f.file.is_empty() { "?" } else { &f.file }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Thread => "thread",
        Kind::Task => "task",
    }
}

/// How many return addresses at the innermost end are the dump's own.
fn own_frames(g: &Goroutine) -> usize {
    let own: std::collections::HashSet<usize> = g
        .frames
        .iter()
        .take_while(|f| dump_frames(&[f.function.as_str()]) == 1)
        .filter_map(|f| f.address)
        .collect();
    g.ips.iter().take_while(|ip| own.contains(ip)).count()
}

/// A goroutine's frames without the dump's own.
fn frames_for_text(g: &Goroutine) -> &[Frame] {
    let names: Vec<&str> = g.frames.iter().map(|f| f.function.as_str()).collect();
    &g.frames[dump_frames(&names)..]
}

/// Hands back the debug information naming frames loaded (see
/// [`crate::stacks`]): the next dump loads it again.
pub fn release_symbols() {
    crate::stacks::release_symbols();
}

/// Larger than any function: an offset beyond it is not one.
const MAX_FUNCTION_BYTES: usize = 1 << 20;

pub(crate) fn symbolise(builder: &mut Builder, ips: &[usize]) -> Vec<Frame> {
    let mut frames = Vec::new();
    for &ip in ips {
        let symbols = builder.resolve(ip);
        for s in symbols.iter() {
            frames.push(frame(ip, s));
        }
    }
    frames
}

fn frame(ip: usize, s: &Symbol) -> Frame {
    Frame {
        function: s.name.clone(),
        file: s.file.clone(),
        line: u32::try_from(s.line).unwrap_or(0),
        address: Some(ip),
        // The symboliser gives some entries unrelocated (file offsets, not
        // addresses in this process): an "offset" of gigabytes is one of
        // those, and printing none beats printing a wrong one.
        offset: ip
            .checked_sub(s.entry)
            .filter(|&o| s.entry != 0 && o < MAX_FUNCTION_BYTES),
    }
}

/// A thread's state in Go's words, from what it is calling (innermost
/// first) and, failing that, from the kernel: Go's wait reasons
/// (`runtime/runtime2.go`: `chan receive`, `sync.Mutex.Lock`, `sleep`, `IO
/// wait`, …) and statuses (`running`, `syscall`).
pub fn thread_state(names: &[&str], kernel: &KernelState) -> String {
    if let Some(reason) = wait_reason(names) {
        return reason.to_string();
    }
    match kernel.state {
        'R' => "running".into(),
        _ if kernel.syscall.is_some() => "syscall".into(),
        'S' | 'D' => "waiting".into(),
        other => format!("kernel state {other}"),
    }
}

/// A task's state: the wait reason its leaf future names, else `select`
/// for a task parked on something else (Go's parked goroutine that is
/// waiting on several things at once).
pub fn task_state(names: &[&str]) -> String {
    wait_reason(names).unwrap_or("select").to_string()
}

/// The innermost recognisable wait among `names` (innermost first).
fn wait_reason(names: &[&str]) -> Option<&'static str> {
    names.iter().find_map(|name| {
        let has = |s: &str| name.contains(s);
        if has("RawRwLock") && has("shared") || has("RwLock") && has("read") {
            Some("sync.RWMutex.RLock")
        } else if has("RawRwLock") || has("RwLock") && has("write") {
            Some("sync.RWMutex.Lock")
        } else if has("lock_slow")
            || has("lock_contended")
            || (has("Mutex") && has("::lock"))
            || has("labkit::contention::lock::")
        {
            Some("sync.Mutex.Lock")
        } else if has("Condvar") && has("wait") {
            Some("sync.Cond.Wait")
        } else if has("select") && (has("crossbeam") || has("channel")) {
            Some("select")
        } else if (has("channel") || has("mpsc") || has("oneshot")) && has("recv") {
            Some("chan receive")
        } else if (has("channel") || has("mpsc")) && has("send") {
            Some("chan send")
        } else if name.ends_with("::sleep") || has("time::sleep") || has("Sleep") {
            Some("sleep")
        } else if has("JoinHandle") && has("join") || has("Thread::join") {
            Some("sync.WaitGroup.Wait")
        } else if has("epoll_wait") || has("mio::poll") || has("Poll>::poll") && has("mio") {
            Some("IO wait")
        } else {
            None
        }
    })
}

/// Spawn sites of the tasks alive, recorded by [`record_spawns`].
#[cfg(all(feature = "tasks", tokio_unstable))]
static SPAWNS: std::sync::Mutex<BTreeMap<u64, &'static std::panic::Location<'static>>> =
    std::sync::Mutex::new(BTreeMap::new());

/// Makes a runtime record where each task was spawned (tokio's
/// `TaskMeta::spawned_at`, `tokio_unstable` only), so that the goroutine
/// dump can print `created by` for tasks. Call it on the runtime's
/// builder before `build()`.
#[cfg(all(feature = "tasks", tokio_unstable))]
pub fn record_spawns(builder: &mut tokio::runtime::Builder) -> &mut tokio::runtime::Builder {
    builder
        .on_task_spawn(|meta| {
            let id = meta.id().to_string().parse().unwrap_or(0);
            SPAWNS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id, meta.spawned_at());
        })
        .on_task_terminate(|meta| {
            let id: u64 = meta.id().to_string().parse().unwrap_or(0);
            SPAWNS.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
        })
}

/// Without `tokio_unstable` tokio records no spawn sites: the builder is
/// left as it is, and the dump prints no `created by` for tasks.
#[cfg(all(feature = "tasks", not(tokio_unstable)))]
pub fn record_spawns(builder: &mut tokio::runtime::Builder) -> &mut tokio::runtime::Builder {
    builder
}

#[cfg(feature = "tasks")]
impl Goroutines {
    /// Adds the tasks of a task dump (root first in the dump; innermost
    /// first here), with their spawn sites if [`record_spawns`] ran.
    pub fn add_tasks(&mut self, dump: &crate::tasks::TaskDump) {
        let labelled = crate::labels::by_task::all();
        for task in &dump.tasks {
            let id: u64 = task.id.parse().unwrap_or(0);
            let frames: Vec<Frame> = task
                .frames
                .iter()
                .enumerate()
                .rev()
                .map(|(i, function)| {
                    let site = task.sites.get(i).map_or("", String::as_str);
                    let (file, line) = split_site(site);
                    Frame {
                        function: function.clone(),
                        file,
                        line,
                        address: None,
                        offset: None,
                    }
                })
                .collect();
            let names: Vec<&str> = frames.iter().map(|f| f.function.as_str()).collect();
            let state = task_state(&names);
            self.all.push(Goroutine {
                id,
                kind: Kind::Task,
                name: String::new(),
                state,
                frames,
                ips: Vec::new(),
                created_by: spawned_at(id),
                note: None,
                labels: labelled.get(&id).copied().unwrap_or_default(),
            });
        }
    }
}

#[cfg(all(feature = "tasks", tokio_unstable))]
fn spawned_at(id: u64) -> Option<Frame> {
    let spawns = SPAWNS.lock().unwrap_or_else(|e| e.into_inner());
    let at = spawns.get(&id)?;
    Some(Frame {
        function: "tokio::task::spawn".into(),
        file: at.file().to_string(),
        line: at.line(),
        address: None,
        offset: None,
    })
}

#[cfg(all(feature = "tasks", not(tokio_unstable)))]
fn spawned_at(_id: u64) -> Option<Frame> {
    None
}

/// `src/main.rs:6:23` → (`src/main.rs`, 6).
#[cfg(feature = "tasks")]
fn split_site(site: &str) -> (String, u32) {
    let mut parts = site.rsplitn(3, ':');
    let (column, line, file) = (parts.next(), parts.next(), parts.next());
    match (file, line.and_then(|l| l.parse().ok()), column) {
        (Some(file), Some(line), Some(_)) => (file.to_string(), line),
        _ => (site.to_string(), 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// This std names it `std::thread::functions::sleep`: a sleeping
    /// thread was headed `syscall`.
    #[test]
    fn sleep_is_named_whatever_module_std_keeps_it_in() {
        let kernel = KernelState {
            state: 'S',
            syscall: Some(230),
        };
        for sleep in ["std::thread::functions::sleep", "std::thread::sleep"] {
            let names = ["std::sys::thread::unix::Thread::sleep", sleep, "lab::main"];
            assert_eq!(thread_state(&names[1..], &kernel), "sleep");
            assert_eq!(thread_state(&names, &kernel), "sleep");
        }
        assert_eq!(thread_state(&["lab::main"], &kernel), "syscall");
    }

    /// An entry the symboliser left unrelocated gave `+0x563c18175001`
    /// on every line of a dump: no offset at all is printed then.
    #[test]
    fn an_offset_is_printed_only_when_it_can_be_one() {
        let symbol = |entry| Symbol {
            name: "f".into(),
            system_name: "f".into(),
            file: "f.rs".into(),
            line: 1,
            column: 0,
            entry,
        };
        let ip = 0x563c_18f8_b537;
        assert_eq!(frame(ip, &symbol(ip - 0x37)).offset, Some(0x37));
        assert_eq!(frame(ip, &symbol(0xe1_6536)).offset, None);
        assert_eq!(frame(ip, &symbol(0)).offset, None);
        assert_eq!(frame(ip, &symbol(ip + 1)).offset, None);
    }

    /// Three threads parked in one function's lock wait, a fourth in a
    /// channel receive: debug=0 groups the three into one sample of 3,
    /// debug=1 into `3 @ …`, debug=2 lists all four with Go's states.
    #[test]
    fn threads_are_grouped_by_stack_and_named_by_state() {
        let lock = std::sync::Arc::new(parking_lot::Mutex::new(()));
        let held = lock.lock();
        let (_tx, rx) = std::sync::mpsc::channel::<()>();
        let mut tids = Vec::new();
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let waiters: Vec<_> = (0..3)
            .map(|i| {
                let lock = lock.clone();
                let tid_tx = tid_tx.clone();
                std::thread::Builder::new()
                    .name(format!("waiter-{i}"))
                    .spawn(move || {
                        tid_tx.send(crate::signal_walk::tid_and_name().0).unwrap();
                        drop(lock.lock());
                    })
                    .unwrap()
            })
            .collect();
        let receiver = std::thread::Builder::new()
            .name("receiver".into())
            .spawn(move || {
                tid_tx.send(crate::signal_walk::tid_and_name().0).unwrap();
                let _ = rx.recv();
            })
            .unwrap();
        for _ in 0..4 {
            tids.push(tid_rx.recv().unwrap());
        }
        let started = Instant::now();
        while tids.iter().any(|&t| {
            std::fs::read_to_string(format!("/proc/self/task/{t}/stat"))
                .map(|s| {
                    !s.rsplit_once(')')
                        .is_some_and(|(_, r)| r.trim_start().starts_with('S'))
                })
                .unwrap_or(true)
        }) {
            assert!(started.elapsed() < Duration::from_secs(30));
            std::thread::sleep(Duration::from_millis(1));
        }
        let g = Goroutines::of_threads(crate::thread_dump::ANSWER_WITHIN).unwrap();
        drop(held);
        for w in waiters {
            w.join().unwrap();
        }
        drop(_tx);
        receiver.join().unwrap();

        let of = |name: &str| g.all.iter().find(|t| t.name == name).unwrap();
        assert_eq!(of("waiter-0").state, "sync.Mutex.Lock");
        assert_eq!(of("receiver").state, "chan receive");

        let text = g.debug2();
        assert!(
            text.contains(&format!(
                "goroutine {} [sync.Mutex.Lock, thread waiter-1]:\n",
                of("waiter-1").id
            )),
            "{text}"
        );
        // Go's shape: a header, then function and `\tfile:line` pairs.
        for entry in text.split("\n\n").filter(|e| !e.is_empty()) {
            let mut lines = entry.lines();
            let header = lines.next().unwrap();
            assert!(
                header.starts_with("goroutine ") && header.ends_with("]:"),
                "{header}"
            );
        }

        let grouped = g.debug1();
        assert!(grouped.starts_with(&format!("goroutine profile: total {}\n", g.all.len())));
        assert!(
            grouped.lines().any(|l| l.starts_with("3 @ 0x")),
            "{grouped}"
        );

        let decoded =
            crate::profile::decode(std::path::Path::new("goroutine"), &g.to_pprof_gz()).unwrap();
        assert_eq!(decoded.total(0), g.all.len() as i64);
        assert!(
            decoded
                .samples
                .iter()
                .any(|s| s.values[0] == 3
                    && s.stack.iter().any(|f| f.contains("threads_are_grouped"))),
            "{:#?}",
            decoded.samples
        );
    }

    /// A runtime built through [`record_spawns`] gives its tasks Go's
    /// `created by` line: the file and line of the spawn.
    #[cfg(all(feature = "tasks", tokio_unstable, target_os = "linux"))]
    #[test]
    fn a_task_says_where_it_was_spawned() {
        let mut builder = tokio::runtime::Builder::new_current_thread();
        let runtime = record_spawns(builder.enable_all()).build().unwrap();
        let (_tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
        let spawned_on = line!() + 1;
        runtime.spawn(async move { rx.recv().await });
        runtime.block_on(tokio::task::yield_now());
        let dump = runtime
            .block_on(crate::tasks::dump(
                runtime.handle(),
                Duration::from_secs(30),
            ))
            .unwrap();
        let mut all = Goroutines::default();
        all.add_tasks(&dump);
        let text = all.debug2();
        assert!(text.contains("[chan receive, task]:"), "{text}");
        let site = format!("created by tokio::task::spawn\n\t{}:{spawned_on}", file!());
        assert!(text.contains(&site), "{site} in\n{text}");
    }

    /// A thread's labels are read with its stack: debug=1 prints them as
    /// Go does (`# labels: {"key":"value"}` under the group's line), and
    /// the pprof form carries them.
    #[test]
    fn a_thread_s_labels_are_in_the_dump() {
        let set = crate::labels::LabelSet::new(&[("kind", "export")]);
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let labelled = std::thread::spawn(move || {
            crate::labels::set_thread(set);
            tid_tx.send(crate::signal_walk::tid_and_name().0).unwrap();
            let _ = stop_rx.recv();
        });
        let tid = tid_rx.recv().unwrap();
        let g = Goroutines::of_threads(crate::thread_dump::ANSWER_WITHIN).unwrap();
        stop_tx.send(()).unwrap();
        labelled.join().unwrap();
        let found = g.all.iter().find(|t| t.id == u64::from(tid)).unwrap();
        assert_eq!(found.labels, set);
        let text = g.debug1();
        assert!(
            text.contains("\n# labels: {\"kind\":\"export\"}\n"),
            "{text}"
        );
        let profile = g.to_pprof();
        let kind = profile
            .string_table
            .iter()
            .position(|s| s == "kind")
            .unwrap() as i64;
        assert!(
            profile
                .sample
                .iter()
                .any(|s| s.label.iter().any(|l| l.key == kind)),
            "no sample carries the kind label"
        );
    }

    /// A task's labels are those of the innermost `labels::task` scope it
    /// is parked in: debug=1 prints them under its group, a scope that ended gives the outer labels back, an
    /// unlabelled task has none, and a finished task leaves nothing behind.
    #[cfg(all(feature = "tasks", target_os = "linux"))]
    #[test]
    fn a_task_s_labels_are_in_the_dump() {
        use crate::labels::{self, LabelSet};
        // One thread: the labels' moves between workers are tests/labels.rs's
        // business; this one is about what the dump reads.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let outer = LabelSet::new(&[("kind", "export")]);
        let inner = LabelSet::new(&[("step", "render")]);
        let (inner_tx, inner_rx) = tokio::sync::oneshot::channel::<()>();
        let (outer_tx, outer_rx) = tokio::sync::oneshot::channel::<()>();
        let (plain_tx, plain_rx) = tokio::sync::oneshot::channel::<()>();
        // The task says where it is: inside the inner scope (sent from its
        // first poll), then out of it; each dump waits for that word, so a
        // slow machine cannot dump before the task got there.
        let (at_tx, mut at_rx) = tokio::sync::mpsc::unbounded_channel::<&str>();
        let labelled = runtime.spawn(labels::task(outer, async move {
            labels::task(inner, async {
                at_tx.send("inside").unwrap();
                inner_rx.await
            })
            .await
            .unwrap();
            at_tx.send("left the inner scope").unwrap();
            outer_rx.await.unwrap();
        }));
        let plain = runtime.spawn(plain_rx);
        let mut dump_at = |expected: &str| {
            runtime.block_on(async {
                assert_eq!(at_rx.recv().await, Some(expected));
                let dump =
                    crate::tasks::dump(&tokio::runtime::Handle::current(), Duration::from_secs(30))
                        .await
                        .unwrap();
                let mut all = Goroutines::default();
                all.add_tasks(&dump);
                all
            })
        };
        let id_of = |id: tokio::task::Id| -> u64 { id.to_string().parse().unwrap() };
        let (labelled_id, plain_id) = (id_of(labelled.id()), id_of(plain.id()));
        let labels_of =
            |all: &Goroutines, id: u64| all.all.iter().find(|g| g.id == id).map(|g| g.labels);

        let parked_inside = dump_at("inside");
        assert_eq!(
            labels_of(&parked_inside, labelled_id),
            Some(outer.merged(inner)),
            "{}",
            parked_inside.debug1()
        );
        assert_eq!(labels_of(&parked_inside, plain_id), Some(LabelSet::empty()));
        let text = parked_inside.debug1();
        assert!(
            text.contains("\n# labels: {\"kind\":\"export\", \"step\":\"render\"}\n"),
            "{text}"
        );

        inner_tx.send(()).unwrap();
        let scope_ended = dump_at("left the inner scope");
        assert_eq!(labels_of(&scope_ended, labelled_id), Some(outer));

        outer_tx.send(()).unwrap();
        plain_tx.send(()).unwrap();
        runtime.block_on(labelled).unwrap();
        assert!(
            !labels::by_task::all().contains_key(&labelled_id),
            "a finished task's labels stayed in the table"
        );
    }

    /// A refused task dump is said at the top of every form, not left out
    /// silently: the reader would take the missing tasks for no tasks.
    #[test]
    fn a_refused_task_dump_is_said_in_every_form() {
        let mut g = Goroutines::of_threads(crate::thread_dump::ANSWER_WITHIN).unwrap();
        let why = "tasks not dumped: worker 1 of 2 did not come back";
        g.tasks_missing = Some(why.into());
        let one = g.debug1();
        assert!(
            one.starts_with(&format!(
                "goroutine profile: total {}\n# {why}\n\n",
                g.all.len()
            )),
            "{one}"
        );
        assert!(g.debug2().starts_with(&format!("# {why}\n\n")));
        let profile = g.to_pprof();
        let comment = &profile.string_table[profile.comment[0] as usize];
        assert!(comment.ends_with(why), "{comment}");
    }
}
