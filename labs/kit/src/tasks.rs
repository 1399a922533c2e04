//! Task dumps for tokio: what every task is waiting on, grouped and
//! counted, and the difference between two dumps — how a leak is found.
//!
//! Go prints every goroutine's stack on `SIGQUIT` or from
//! `/debug/pprof/goroutine?debug=2`, and `grep 'created by' | sort | uniq -c`
//! finds the pile-up. tokio's counterpart is [`Handle::dump`], which
//! traces every task at its `.await` point. It needs Linux, tokio's
//! `taskdump` feature and `--cfg tokio_unstable` (this workspace sets it
//! in `.cargo/config.toml`); elsewhere [`dump`] says so.
//!
//! A dump can hang if a worker thread is blocked (it waits for every
//! worker to reach a safe point), so [`dump`] always takes a timeout. On a
//! multi-thread runtime that is not enough. tokio 1.54's workers meet at a
//! barrier to trace; one that waits 250 ms there for a worker that does not
//! come gives up, but its arrival stays counted (`Barrier::wait_timeout`
//! in `tokio/src/loom/std/barrier.rs` does not take it back; the open fix
//! is tokio-rs/tokio#8370). The next worker to arrive then leads alone,
//! and waits at the closing barrier for a worker that has already gone:
//! forever. One worker blocked in a poll for 250 ms during a dump — the
//! very thing a dump is taken to find — costs the runtime another worker
//! for good, and its drop never returns. So before dumping a multi-thread
//! runtime, [`dump`] watches its workers for [`WORKER_AWAY`] and refuses,
//! naming the worker, if one has stayed away from its scheduler for 100 ms
//! (a thread dump shows what it is doing). A worker that blocks after the
//! watch can still be lost: only tokio's fix closes that. The workbook's own services run
//! on a current-thread runtime, where a dump needs no barrier.
//!
//! [`Handle::dump`]: tokio::runtime::Handle::dump

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
#[cfg(feature = "tasks")]
use std::time::Duration;

use crate::Error;
use crate::own::Own;

/// One task in a dump: its id and its trace, root first, one frame a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTrace {
    pub id: String,
    /// The frames' function names, root (the task's own future) first.
    pub frames: Vec<String>,
    /// Where each frame is, `file:line:column` as tokio prints it (empty
    /// when it does not say).
    pub sites: Vec<String>,
}

/// Every task of a runtime at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDump {
    pub tasks: Vec<TaskTrace>,
    /// Tasks alive by the runtime's own count (`RuntimeMetrics`), which
    /// also counts tasks that are running or just woken.
    pub alive: usize,
    /// The dump as tokio printed it, one task after another.
    pub text: String,
    /// The crates counted as own: the program the dump's `# program:` line
    /// names, unless the reader named them.
    pub own: Own,
}

/// How long [`dump`] watches the workers of a multi-thread runtime before
/// dumping it: a worker away from its scheduler (inside one poll) for 100
/// ms of it makes the dump an error, since tokio's workers wait only 250
/// ms for each other before the dump misfires (see the module's notes).
#[cfg(feature = "tasks")]
pub const WORKER_AWAY: Duration = Duration::from_millis(200);

/// Dumps every task of the runtime behind `handle`, giving up after
/// `timeout` (feature `tasks`). A multi-thread runtime is first watched
/// for [`WORKER_AWAY`]; a worker that did not come back to its scheduler
/// meanwhile makes the dump an error instead (see the module's notes).
#[cfg(feature = "tasks")]
pub async fn dump(handle: &tokio::runtime::Handle, timeout: Duration) -> Result<TaskDump, Error> {
    imp::dump(handle, timeout).await
}

#[cfg(all(feature = "tasks", tokio_unstable, target_os = "linux"))]
mod imp {
    use super::*;

    pub async fn dump(
        handle: &tokio::runtime::Handle,
        timeout: Duration,
    ) -> Result<TaskDump, Error> {
        if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            let away = workers_away(handle).await;
            if !away.is_empty() {
                let n = handle.metrics().num_workers();
                let which: Vec<String> = away.iter().map(usize::to_string).collect();
                return Err(Error::new(format!(
                    "tasks not dumped: worker {} of {n} did not come back to its scheduler \
                     for {STILL_FOR:?} or more (one poll running that long: a blocked worker). A task \
                     dump now would wait for it, and tokio's dump can then leave the other \
                     workers waiting forever (tokio-rs/tokio#8370). The threads' stacks show \
                     what it is doing: look for a tokio-rt-worker thread that is not parked",
                    which.join(", ")
                )));
            }
        }
        let dump = tokio::time::timeout(timeout, handle.dump())
            .await
            .map_err(|_| {
                Error::new(format!(
                    "the task dump did not finish within {timeout:?}: a worker thread is \
                     probably blocked (a dump waits for every worker to reach an .await)"
                ))
            })?;
        let alive = handle.metrics().num_alive_tasks();
        let program = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let mut text = format!(
            "# task dump: {} tasks traced, {alive} alive\n# program: {program}\n",
            dump.tasks().iter().count()
        );
        let mut tasks = Vec::new();
        for task in dump.tasks().iter() {
            // tokio's own Display names every frame again on every dump
            // (1,000 tasks: about 80 ms with the debug information loaded);
            // labkit's table remembers the names of addresses it has seen.
            let trace = match read_backtraces(&format!("{:?}", task.trace())) {
                Some(backtraces) => render(&backtraces),
                None => task.trace().to_string(),
            };
            text.push_str(&format!("task {}\n{trace}\n", task.id()));
            tasks.push(TaskTrace {
                id: task.id().to_string(),
                frames: parse_frames(&trace),
                sites: parse_sites(&trace),
            });
        }
        let own = Own::of(Some(&program), []);
        Ok(TaskDump {
            tasks,
            alive,
            text,
            own,
        })
    }
}

/// The workers of a multi-thread runtime that are away from their
/// scheduler at the end of a [`WORKER_AWAY`] watch: not parked, and no
/// count of theirs moved for [`STILL_FOR`] or more. A worker hands its
/// counts over only at the moments it also looks for a dump request (its
/// maintenance, every 61 polls, and before parking), so counts that stand
/// still while it is not parked mean it would not join a dump either. The
/// counts are read every 10 ms, so a worker that unparks during the watch
/// and then blocks is caught too; one that blocks after it is not (only
/// tokio's fix closes that).
#[cfg(all(feature = "tasks", tokio_unstable, target_os = "linux"))]
async fn workers_away(handle: &tokio::runtime::Handle) -> Vec<usize> {
    workers_away_after(handle, WORKER_AWAY).await
}

/// How long an unparked worker's counts must stand still for
/// [`workers_away`] to call it away: a healthy worker hands them over
/// every 61 polls, well within this unless its polls take over 1.6 ms each.
#[cfg(all(feature = "tasks", tokio_unstable, target_os = "linux"))]
const STILL_FOR: Duration = Duration::from_millis(100);

/// [`workers_away`], watching for `watch`.
#[cfg(all(feature = "tasks", tokio_unstable, target_os = "linux"))]
async fn workers_away_after(handle: &tokio::runtime::Handle, watch: Duration) -> Vec<usize> {
    use std::time::Instant;
    let metrics = handle.metrics();
    let mark = |worker: usize| {
        (
            metrics.worker_park_unpark_count(worker),
            metrics.worker_poll_count(worker),
            metrics.worker_total_busy_duration(worker),
        )
    };
    let start = Instant::now();
    let mut last: Vec<_> = (0..metrics.num_workers())
        .map(|worker| (mark(worker), start))
        .collect();
    while start.elapsed() < watch {
        tokio::time::sleep(Duration::from_millis(10)).await;
        for (worker, (seen, since)) in last.iter_mut().enumerate() {
            let now = mark(worker);
            if now != *seen {
                *seen = now;
                *since = Instant::now();
            }
        }
    }
    last.iter()
        .enumerate()
        // An odd park/unpark count: parked, and a dump request wakes it.
        .filter(|(_, (seen, since))| seen.0 % 2 == 0 && since.elapsed() >= STILL_FOR)
        .map(|(worker, _)| worker)
        .collect()
}

/// The return addresses of a tokio trace, one list per leaf future the
/// task polled, innermost first, read from its `Debug` form
/// (`backtraces: [[BacktraceFrame { ip: 0x…, symbol_address: 0x… }, …]]`:
/// tokio shows them no other way). `None` if the form is not that one.
#[cfg(all(feature = "tasks", tokio_unstable, target_os = "linux"))]
fn read_backtraces(debug: &str) -> Option<Vec<Vec<usize>>> {
    let (_, rest) = debug.split_once("backtraces: [")?;
    let mut backtraces = Vec::new();
    let mut current: Option<Vec<usize>> = None;
    let mut rest = rest;
    loop {
        let next = rest.find(['[', ']', 'i'])?;
        let (c, after) = (rest.as_bytes()[next], &rest[next + 1..]);
        match (c, current.as_mut()) {
            (b'[', None) => current = Some(Vec::new()),
            (b']', Some(_)) => backtraces.push(current.take()?),
            (b']', None) => return Some(backtraces),
            (b'i', Some(ips)) if after.starts_with("p: 0x") => {
                let hex = &after[5..];
                let end = hex
                    .find(|c: char| !c.is_ascii_hexdigit())
                    .unwrap_or(hex.len());
                ips.push(usize::from_str_radix(&hex[..end], 16).ok()?);
            }
            (b'[', Some(_)) => return None,
            _ => {}
        }
        rest = after;
    }
}

/// A trace in tokio's tree form (`╼ function at file:line:column`, root
/// first, a branch per leaf future), its frames named through labkit's
/// table of addresses. Names keep their last segment (tokio's drops it,
/// meaning to drop an async function's `{{closure}}`, and so also cuts
/// `poll` or `recv` off names that have none); only that `{{closure}}`
/// goes.
#[cfg(all(feature = "tasks", tokio_unstable, target_os = "linux"))]
fn render(backtraces: &[Vec<usize>]) -> String {
    /// tokio tells frames apart as backtrace-rs does: by mangled name and
    /// entry as well as place, so two branches through one line of code
    /// for different futures stay two.
    #[derive(Default)]
    struct Node {
        children: Vec<((String, usize, String), Node)>,
    }
    let mut root = Node::default();
    for ips in backtraces {
        let mut node = &mut root;
        for &ip in ips.iter().rev() {
            for symbol in crate::stacks::symbols_at(ip).iter().rev() {
                let name = symbol.name.as_str();
                let mut line = name
                    .strip_suffix("::{{closure}}")
                    .unwrap_or(name)
                    .to_string();
                if !symbol.file.is_empty() {
                    line.push_str(&format!(" at {}", symbol.file));
                    if symbol.line > 0 {
                        line.push_str(&format!(":{}", symbol.line));
                        if symbol.column > 0 {
                            line.push_str(&format!(":{}", symbol.column));
                        }
                    }
                }
                let key = (symbol.system_name.clone(), symbol.entry, line);
                let at = match node.children.iter().position(|(k, _)| *k == key) {
                    Some(at) => at,
                    None => {
                        node.children.push((key, Node::default()));
                        node.children.len() - 1
                    }
                };
                node = &mut node.children[at].1;
            }
        }
    }
    fn draw(out: &mut String, line: &str, node: &Node, last: bool, prefix: &str) {
        let (here, next) = if last {
            (
                format!("{prefix}└╼\u{a0}{line}"),
                format!("{prefix}\u{a0}\u{a0}\u{a0}"),
            )
        } else {
            (
                format!("{prefix}├╼\u{a0}{line}"),
                format!("{prefix}│\u{a0}\u{a0}"),
            )
        };
        // tokio's tree starts two characters in.
        out.extend(here.chars().skip(2));
        for (i, ((_, _, line), child)) in node.children.iter().enumerate() {
            out.push('\n');
            draw(out, line, child, i + 1 == node.children.len(), &next);
        }
    }
    let mut out = String::new();
    for ((_, _, line), node) in &root.children {
        draw(&mut out, line, node, true, " ");
    }
    out
}

#[cfg(all(feature = "tasks", not(all(tokio_unstable, target_os = "linux"))))]
mod imp {
    use super::*;

    pub async fn dump(
        _handle: &tokio::runtime::Handle,
        _timeout: Duration,
    ) -> Result<TaskDump, Error> {
        Err(Error::new(
            "task dumps need Linux, tokio's `taskdump` feature and `--cfg tokio_unstable` \
             (set in this workspace's .cargo/config.toml; a RUSTFLAGS variable overrides it)",
        ))
    }
}

/// Reads a dump written by [`TaskDump::save`] back.
pub fn load(path: &Path) -> Result<TaskDump, String> {
    // labkit's one reader: capped, and never stuck on a pipe or a device.
    let bytes = crate::profile::read(path).map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes)
        .map_err(|_| format!("{} is not text: not a task dump", path.display()))?;
    let alive = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# task dump: "))
        .and_then(|l| l.split(", ").nth(1))
        .and_then(|l| l.strip_suffix(" alive"))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            format!(
                "{} is not a task dump written by labkit (expected a first line \
                 `# task dump: N tasks traced, M alive`)",
                path.display()
            )
        })?;
    let mut tasks: Vec<TaskTrace> = Vec::new();
    let mut trace = String::new();
    let mut program = None;
    for line in text.lines().skip(1) {
        if let Some(p) = line.strip_prefix("# program: ") {
            program = Some(p.to_string());
        } else if let Some(id) = line.strip_prefix("task ") {
            if let Some(last) = tasks.last_mut() {
                last.frames = parse_frames(&trace);
                last.sites = parse_sites(&trace);
            }
            trace.clear();
            tasks.push(TaskTrace {
                id: id.to_string(),
                frames: Vec::new(),
                sites: Vec::new(),
            });
        } else {
            trace.push_str(line);
            trace.push('\n');
        }
    }
    if let Some(last) = tasks.last_mut() {
        last.frames = parse_frames(&trace);
        last.sites = parse_sites(&trace);
    }
    // A dump has no `main` to guess from: its roots are the tasks' futures.
    let own = Own::of(program.as_deref(), []);
    Ok(TaskDump {
        tasks,
        alive,
        text,
        own,
    })
}

/// `  └╼ tokio::sync::mpsc::bounded::Receiver<T>::recv at src/…:245:42`
/// → `tokio::sync::mpsc::bounded::Receiver<T>::recv`.
fn parse_frames(trace: &str) -> Vec<String> {
    trace
        .lines()
        .filter_map(|line| {
            let (_, rest) = line.split_once('╼')?;
            let rest = rest.trim();
            let name = rest.rsplit_once(" at ").map_or(rest, |(n, _)| n);
            Some(name.trim().to_string())
        })
        .collect()
}

/// `  └╼ tokio::…::recv at src/…:245:42` → `src/…:245:42`; one entry per
/// frame of [`parse_frames`], empty where tokio gives no place.
fn parse_sites(trace: &str) -> Vec<String> {
    trace
        .lines()
        .filter_map(|line| {
            let (_, rest) = line.split_once('╼')?;
            Some(
                rest.trim()
                    .rsplit_once(" at ")
                    .map_or(String::new(), |(_, site)| site.trim().to_string()),
            )
        })
        .collect()
}

// ANCHOR: wait_kind
/// What a task is waiting on, from the library frames under its own code.
pub fn wait_kind(own: &Own, frames: &[String]) -> &'static str {
    let below_own = frames
        .iter()
        .rposition(|f| own.name(f).is_some())
        .map_or(frames, |i| &frames[i + 1..]);
    let has = |needle: &str| below_own.iter().any(|f| f.contains(needle));
    if has("oneshot") {
        "oneshot receive"
    } else if has("mpsc") && has("recv") {
        "channel receive"
    } else if has("mpsc") && (has("send") || has("reserve")) {
        "channel send"
    } else if has("time::sleep") || has("time::interval") {
        "sleep"
    } else if has("sync::mutex") || has("sync::rwlock") || has("Semaphore") {
        "lock"
    } else if has("signal") {
        "signal"
    } else if has("tokio::net") || has("tokio::io") {
        "I/O"
    } else if has("JoinHandle") {
        "another task"
    } else {
        "other"
    }
}
// ANCHOR_END: wait_kind

/// The group a task belongs to: its innermost own frame (without the
/// crate) and what it waits on. Tasks with no own frame are the runtime's
/// or a library's.
pub fn group_of(own: &Own, task: &TaskTrace) -> (String, &'static str) {
    // tokio traces a task only down to the resources it instruments
    // (channels, timers, locks…); a task parked elsewhere — a TCP accept,
    // say — comes back with an empty trace.
    if task.frames.is_empty() {
        return ("(empty trace)".into(), "a resource tokio does not trace");
    }
    let name = task
        .frames
        .iter()
        .rev()
        .find_map(|f| own.name(f))
        .unwrap_or_else(|| "(no own frame)".into());
    (name, wait_kind(own, &task.frames))
}

impl TaskDump {
    /// Tasks counted by group: Go's `grep 'created by' | sort | uniq -c`.
    pub fn groups(&self) -> BTreeMap<(String, &'static str), usize> {
        let mut groups = BTreeMap::new();
        for task in &self.tasks {
            *groups.entry(group_of(&self.own, task)).or_default() += 1;
        }
        groups
    }

    /// Writes the dump as text, atomically.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        crate::atomic::write_bytes(path, self.text.as_bytes())
    }

    /// Writes the dump as text to a new file, atomically; a file already at
    /// `path` is never replaced (see [`crate::atomic::write_new`]).
    pub fn save_new(&self, path: &Path) -> Result<(), Error> {
        crate::atomic::write_new(path, self.text.as_bytes())
    }
}

/// How two dumps differ, group by group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpDiff {
    /// `(frame, waits on, before, after)` for every group in either dump.
    pub rows: Vec<(String, &'static str, usize, usize)>,
}

/// Compares `before` with `after`.
pub fn diff(before: &TaskDump, after: &TaskDump) -> DumpDiff {
    let (b, a) = (before.groups(), after.groups());
    let mut keys: Vec<&(String, &'static str)> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    DumpDiff {
        rows: keys
            .into_iter()
            .map(|k| {
                let get =
                    |m: &BTreeMap<(String, &'static str), usize>| m.get(k).copied().unwrap_or(0);
                (k.0.clone(), k.1, get(&b), get(&a))
            })
            .collect(),
    }
}

impl DumpDiff {
    /// The groups that grew, with how much.
    pub fn grown(&self) -> Vec<(&str, &'static str, usize)> {
        self.rows
            .iter()
            .filter(|r| r.3 > r.2)
            .map(|r| (r.0.as_str(), r.1, r.3 - r.2))
            .collect()
    }
}

impl fmt::Display for DumpDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "tasks by innermost own frame and what they wait on (before → after):"
        )?;
        for (frame, kind, before, after) in &self.rows {
            let change = match after.cmp(before) {
                std::cmp::Ordering::Greater => format!("grew by {}", after - before),
                std::cmp::Ordering::Less => format!("shrank by {}", before - after),
                std::cmp::Ordering::Equal => "steady".into(),
            };
            writeln!(f, "  {before:>3} → {after:<3} {frame} ({kind}): {change}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The watch before a dump: parked workers are never away; a worker
    /// that wakes during the watch and then blocks is, although its counts
    /// moved since the watch began (a first and a last look would miss it).
    #[cfg(all(feature = "tasks", tokio_unstable, target_os = "linux"))]
    #[test]
    fn a_worker_that_blocks_during_the_watch_is_away() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        runtime.spawn(async move {
            go_rx.await.unwrap();
            let _ = release_rx.recv();
        });
        let idle = runtime.block_on(workers_away_after(
            runtime.handle(),
            Duration::from_millis(300),
        ));
        let waker = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            go_tx.send(()).unwrap();
        });
        let away = runtime.block_on(workers_away_after(runtime.handle(), Duration::from_secs(2)));
        release_tx.send(()).unwrap();
        waker.join().unwrap();
        assert_eq!(idle, Vec::<usize>::new(), "parked workers called away");
        assert_eq!(away.len(), 1, "away: {away:?}");
    }

    /// A worker blocked in one poll while its runtime is dumped. tokio
    /// 1.54's dump would give up waiting for it after 250 ms, lead with the
    /// other worker, and leave that one waiting forever at its closing
    /// barrier: the dump "works", and the runtime's drop never returns.
    /// labkit's refuses, names the worker, and the runtime shuts down.
    #[cfg(all(feature = "tasks", tokio_unstable, target_os = "linux"))]
    #[test]
    fn a_dump_is_refused_while_a_worker_is_blocked_and_the_runtime_survives_it() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        runtime.spawn(async move {
            started_tx.send(()).unwrap();
            // Blocks its worker: the mistake a dump is taken to find.
            let _ = release_rx.recv();
        });
        started_rx.recv().unwrap();
        let dumped = runtime.block_on(dump(runtime.handle(), Duration::from_secs(30)));
        release_tx.send(()).unwrap();
        // Dropped on a thread of its own, so that a runtime that cannot
        // shut down fails the test instead of hanging it.
        let (dropped_tx, dropped_rx) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            drop(runtime);
            let _ = dropped_tx.send(());
        });
        let shut_down = dropped_rx.recv_timeout(Duration::from_secs(30)).is_ok();
        match dumped {
            Ok(_) => panic!(
                "the dump went through with a worker blocked (the runtime {})",
                if shut_down {
                    "shut down anyway"
                } else {
                    "then could not shut down"
                }
            ),
            Err(e) => {
                let e = e.to_string();
                assert!(
                    e.contains("did not come back to its scheduler")
                        && e.contains("tokio-rs/tokio#8370"),
                    "{e}"
                );
            }
        }
        assert!(shut_down, "the runtime did not shut down within 30 s");
    }

    #[test]
    fn a_saved_dump_reads_back_and_a_stranger_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dump.txt");
        let text =
            format!("# task dump: 2 tasks traced, 3 alive\ntask 7\n{TRACE}\ntask 9\n{TRACE}\n");
        std::fs::write(&path, &text).unwrap();
        let dump = load(&path).unwrap();
        // Written before dumps named their program: nothing is known as own.
        assert!(dump.own.is_empty());
        let named = text.replacen('\n', "\n# program: /t/target/debug/lab-087\n", 1);
        std::fs::write(&path, &named).unwrap();
        let dump = load(&path).unwrap();
        assert_eq!(dump.own, Own::crates(["lab_087"]));
        assert_eq!(dump.groups().len(), 1, "{:?}", dump.groups());
        assert!(
            dump.groups()
                .contains_key(&("await_reply".into(), "channel receive"))
        );
        assert_eq!(dump.alive, 3);
        assert_eq!(dump.tasks.len(), 2);
        assert_eq!(dump.tasks[1].id, "9");
        assert_eq!(dump.tasks[1].frames.len(), 3);
        std::fs::write(&path, "hello").unwrap();
        let err = load(&path).unwrap_err();
        assert!(err.contains("dump.txt is not a task dump"), "{err}");
    }

    const TRACE: &str = "╼ lab_087::await_reply at src/main.rs:6:23
  └╼ tokio::sync::mpsc::bounded::Receiver<T>::recv at tokio/src/sync/mpsc/bounded.rs:245:42
     └╼ tokio::sync::mpsc::chan::Rx<T,S> at tokio/src/sync/mpsc/chan.rs:308:16";

    fn task(trace: &str) -> TaskTrace {
        TaskTrace {
            id: "1".into(),
            frames: parse_frames(trace),
            sites: parse_sites(trace),
        }
    }

    #[test]
    fn frames_are_read_from_tokio_s_tree_and_grouped() {
        let t = task(TRACE);
        assert_eq!(t.frames[0], "lab_087::await_reply");
        assert_eq!(t.frames.len(), 3);
        let own = Own::crates(["lab_087"]);
        assert_eq!(
            group_of(&own, &t),
            ("await_reply".to_string(), "channel receive")
        );
        let sleeper =
            task("╼ lab_087::tick at a.rs:1:1\n  └╼ tokio::time::sleep::Sleep at b.rs:2:2");
        assert_eq!(group_of(&own, &sleeper).1, "sleep");
    }

    #[test]
    fn a_diff_names_the_group_that_grew() {
        let dump = |n: usize| TaskDump {
            tasks: (0..n).map(|_| task(TRACE)).collect(),
            alive: n,
            text: String::new(),
            own: Own::crates(["lab_087"]),
        };
        let d = diff(&dump(20), &dump(40));
        assert_eq!(d.grown(), [("await_reply", "channel receive", 20)]);
        assert!(
            d.to_string()
                .contains(" 20 → 40  await_reply (channel receive): grew by 20"),
            "{d}"
        );
        assert!(diff(&dump(3), &dump(3)).grown().is_empty());
    }

    /// The dump names frames through labkit's table, from the addresses
    /// read out of tokio's `Debug` form: the same tree as tokio's own
    /// `Display`, line for line and place for place, with whole names.
    #[cfg(all(feature = "tasks", tokio_unstable, target_os = "linux"))]
    #[test]
    fn a_trace_is_drawn_as_tokio_draws_it_from_its_addresses() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (_tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
        let (_tx2, mut rx2) = tokio::sync::mpsc::channel::<()>(1);
        runtime.spawn(async move {
            tokio::join!(rx.recv(), rx2.recv());
        });
        runtime.block_on(tokio::task::yield_now());
        let dump = runtime.block_on(runtime.handle().dump());
        let task = dump.tasks().iter().next().unwrap();
        let theirs = task.trace().to_string();
        let backtraces = read_backtraces(&format!("{:?}", task.trace())).unwrap();
        assert_eq!(backtraces.len(), 2, "one per leaf future: {theirs}");
        assert!(backtraces.iter().all(|b| b.len() > 1), "{backtraces:x?}");
        let ours = render(&backtraces);
        let shape = |t: &str| {
            let mut lines: Vec<(usize, String)> = t
                .lines()
                .map(|l| {
                    let (pre, rest) = l.split_once('╼').unwrap();
                    (
                        pre.chars().count(),
                        rest.rsplit_once(" at ").unwrap().1.to_string(),
                    )
                })
                .collect();
            lines.sort();
            lines
        };
        assert_eq!(
            shape(&ours),
            shape(&theirs),
            "ours:\n{ours}\ntokio's:\n{theirs}"
        );
        assert!(
            ours.contains("tokio::sync::mpsc::bounded::Receiver<T>::recv at "),
            "{ours}"
        );
        assert_eq!(read_backtraces("Trace { frames: [] }"), None);
        assert_eq!(
            read_backtraces("Trace { inner: Trace { backtraces: [] } }"),
            Some(vec![])
        );
    }
}
