//! Go's profiler labels for Rust: key/value pairs that every CPU sample
//! and every block or mutex event taken inside a scope carries, as pprof
//! string labels, so that `go tool pprof -tagfocus kind=export` (or
//! `labkit summary --by-label kind`) can say whose CPU it is when every
//! request runs the same code.
//!
//! Go's semantics, Rust's shapes:
//!
//! | Go | labkit |
//! | --- | --- |
//! | `pprof.Labels("kind", "export")` | [`LabelSet::new`]`(&[("kind", "export")])` |
//! | `pprof.Do(ctx, labels, f)` | [`with`]`(labels, f)`: the current labels and `labels` while `f` runs |
//! | `pprof.SetGoroutineLabels(ctx)` | [`set_thread`]: on this OS thread, until changed |
//! | a goroutine inherits its creator's labels | [`spawn`] for threads, [`inherit`] for tasks |
//! | a goroutine's labels follow it wherever it runs | [`task`]: the labels are set while the future is polled, on whichever worker thread polls it |
//! | `goroutine?debug=1` prints a goroutine's labels | the goroutine dump prints a thread's, and a parked task's: those of the innermost [`task`] scope it is parked in (feature `tasks`) |
//!
//! The last row is the one a thread cannot give: a tokio task moves
//! between polls (to another worker, or after other tasks on the same
//! one), so labels set on the thread ([`set_thread`]) are whatever the last
//! task to set them left there. Go keeps labels on the goroutine for this
//! reason; here a future carries them ([`Labelled`]).
//!
//! A label set is interned once (a lock and a hash, on [`LabelSet::new`]);
//! setting one is a thread-local store, cheap enough for every request.
//! The CPU sampler's signal handler reads the current set's number from
//! the thread-local (no allocation, no lock) and the profile names it when
//! it is written.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock, Mutex};
use std::task::{Context, Poll};

/// Key/value pairs, sorted by key, each key once.
type Pairs = Arc<[(String, String)]>;

/// Every label set the program made, numbered; 0 is the empty set.
struct Registry {
    sets: Vec<Pairs>,
    ids: HashMap<Pairs, u32>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(|| {
    let empty: Pairs = Arc::from(Vec::new());
    Mutex::new(Registry {
        sets: vec![empty.clone()],
        ids: HashMap::from([(empty, 0)]),
    })
});

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

thread_local! {
    /// The labels of whatever runs on this thread now. A `const` thread
    /// local with no destructor: reading it from a signal handler is a
    /// load from the thread's static TLS block.
    static CURRENT: Cell<u32> = const { Cell::new(0) };
    /// `(current, added) → merged`, so that [`with`] takes no lock once a
    /// thread has seen a combination.
    static MERGED: RefCell<HashMap<(u32, u32), u32>> = RefCell::new(HashMap::new());
}

/// An interned set of labels. Copy it freely; make it once per kind of
/// work, not per request, where the values are few (an endpoint, a tenant
/// tier): a value per request (a request id) is a set per request, and
/// every profile that sees them names them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LabelSet(u32);

impl LabelSet {
    /// The set of `pairs`; a key given twice keeps its last value.
    pub fn new(pairs: &[(&str, &str)]) -> LabelSet {
        let mut sorted: Vec<(String, String)> = Vec::with_capacity(pairs.len());
        for &(key, value) in pairs {
            match sorted.iter_mut().find(|(k, _)| k == key) {
                Some(pair) => pair.1 = value.to_string(),
                None => sorted.push((key.to_string(), value.to_string())),
            }
        }
        sorted.sort();
        intern(sorted)
    }

    /// No labels.
    pub fn empty() -> LabelSet {
        LabelSet(0)
    }

    /// The set a signal handler recorded by number.
    pub(crate) fn from_id(id: u32) -> LabelSet {
        LabelSet(id)
    }

    /// The pairs, sorted by key.
    pub fn pairs(self) -> Vec<(String, String)> {
        pairs_of(self.0).to_vec()
    }

    /// The value of `key`, if the set has it (Go's `pprof.Label`).
    pub fn get(self, key: &str) -> Option<String> {
        pairs_of(self.0)
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    /// This set with `over`'s pairs added, `over` winning on a shared key
    /// (Go's `WithLabels`).
    pub fn merged(self, over: LabelSet) -> LabelSet {
        if over.0 == 0 || over == self {
            return self;
        }
        if self.0 == 0 {
            return over;
        }
        if let Some(id) = MERGED.with(|m| m.borrow().get(&(self.0, over.0)).copied()) {
            return LabelSet(id);
        }
        let mut pairs = pairs_of(self.0).to_vec();
        for (key, value) in pairs_of(over.0).iter() {
            match pairs.iter_mut().find(|(k, _)| k == key) {
                Some(pair) => pair.1 = value.clone(),
                None => pairs.push((key.clone(), value.clone())),
            }
        }
        pairs.sort();
        let merged = intern(pairs);
        MERGED.with(|m| m.borrow_mut().insert((self.0, over.0), merged.0));
        merged
    }
}

fn intern(pairs: Vec<(String, String)>) -> LabelSet {
    let pairs: Pairs = pairs.into();
    let mut registry = registry();
    if let Some(&id) = registry.ids.get(&pairs) {
        return LabelSet(id);
    }
    let id = u32::try_from(registry.sets.len()).unwrap_or(u32::MAX);
    registry.sets.push(pairs.clone());
    registry.ids.insert(pairs, id);
    LabelSet(id)
}

/// The pairs of set number `id` (empty for a number never handed out).
pub(crate) fn pairs_of(id: u32) -> Pairs {
    let registry = registry();
    registry
        .sets
        .get(id as usize)
        .cloned()
        .unwrap_or_else(|| registry.sets[0].clone())
}

/// The labels of the code running on this thread now.
pub fn current() -> LabelSet {
    LabelSet(current_id())
}

/// The current set's number: what the signal handlers record.
pub(crate) fn current_id() -> u32 {
    CURRENT.with(Cell::get)
}

/// Puts the previous labels back when a scope ends, by return or by panic.
struct Restore(u32);

impl Drop for Restore {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

/// Runs `f` with the current labels and `labels` (Go's `pprof.Do`): every
/// sample and contention event inside carries them; the labels before are
/// back when `f` returns or panics.
pub fn with<R>(labels: LabelSet, f: impl FnOnce() -> R) -> R {
    let before = current();
    let _restore = Restore(before.0);
    CURRENT.with(|c| c.set(before.merged(labels).0));
    f()
}

/// Sets this OS thread's labels until they are set again (Go's
/// `pprof.SetGoroutineLabels`, but for the thread, not the goroutine):
/// right for a thread that does one kind of work, wrong for a tokio task,
/// which shares its thread with other tasks between two polls.
pub fn set_thread(labels: LabelSet) {
    CURRENT.with(|c| c.set(labels.0));
}

/// `std::thread::spawn`, with the new thread starting under the caller's
/// labels (as a goroutine starts under its creator's).
pub fn spawn<F, T>(f: F) -> std::thread::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let labels = current();
    std::thread::spawn(move || {
        set_thread(labels);
        f()
    })
}

/// `std::thread::Builder::spawn`, inheriting the caller's labels.
pub fn spawn_with<F, T>(
    builder: std::thread::Builder,
    f: F,
) -> std::io::Result<std::thread::JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let labels = current();
    builder.spawn(move || {
        set_thread(labels);
        f()
    })
}

/// A future that runs under its labels on every poll, on whichever thread
/// polls it: a task's labels, as Go keeps a goroutine's.
pub struct Labelled<F> {
    labels: LabelSet,
    inner: Pin<Box<F>>,
    /// The tokio task this future was last polled in, and this scope's
    /// number in that task's list: the goroutine dump reads a parked
    /// task's labels from [`by_task`], since its future cannot be read.
    #[cfg(feature = "tasks")]
    in_task: Option<(tokio::task::Id, u64)>,
}

/// `future`, polled under the current labels and `labels` (Go's
/// `pprof.Do` around the goroutine's work): `tokio::spawn(labels::task(set,
/// handle(request)))`, or `.await` it in place.
pub fn task<F: Future>(labels: LabelSet, future: F) -> Labelled<F> {
    Labelled {
        labels: current().merged(labels),
        inner: Box::pin(future),
        #[cfg(feature = "tasks")]
        in_task: None,
    }
}

/// `future`, polled under the labels current now: what a task spawned
/// from labelled code should carry (`tokio::spawn(labels::inherit(f))`).
pub fn inherit<F: Future>(future: F) -> Labelled<F> {
    task(LabelSet::empty(), future)
}

impl<F: Future> Future for Labelled<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // `Labelled` is Unpin (its future is boxed): no projection needed.
        let this = self.get_mut();
        #[cfg(feature = "tasks")]
        this.note_task();
        let _restore = Restore(current_id());
        CURRENT.with(|c| c.set(this.labels.0));
        let result = this.inner.as_mut().poll(cx);
        #[cfg(feature = "tasks")]
        if result.is_ready() {
            this.leave_task();
        }
        result
    }
}

#[cfg(feature = "tasks")]
impl<F> Labelled<F> {
    /// Adds this scope to its task's list, once per task (a lock on the
    /// first poll, none after). tokio's dump polls a task under the task's
    /// own id, so a task queued but never run gets its entry then.
    fn note_task(&mut self) {
        let Some(now) = tokio::task::try_id() else {
            return;
        };
        if self.in_task.is_some_and(|(id, _)| id == now) {
            return;
        }
        self.leave_task();
        self.in_task = Some((now, by_task::enter(now, self.labels.0)));
    }

    /// Takes this scope out of its task's list.
    fn leave_task(&mut self) {
        if let Some((id, scope)) = self.in_task.take() {
            by_task::leave(id, scope);
        }
    }
}

#[cfg(feature = "tasks")]
impl<F> Drop for Labelled<F> {
    fn drop(&mut self) {
        self.leave_task();
    }
}

/// A live task's labels by task id: the [`Labelled`] scopes it is inside,
/// each under its own number (numbers grow in the order scopes are
/// entered). Each scope takes out only its own entry, so scopes may end in
/// any order: nested ones innermost first, an outer one cancelled before
/// its inner one is dropped, or siblings polled side by side (`join!`).
#[cfg(feature = "tasks")]
pub(crate) mod by_task {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{LazyLock, Mutex, MutexGuard};

    type Scopes = HashMap<(tokio::task::Id, u64), u32>;

    static SCOPES: LazyLock<Mutex<Scopes>> = LazyLock::new(|| Mutex::new(HashMap::new()));
    static NEXT_SCOPE: AtomicU64 = AtomicU64::new(1);

    fn scopes() -> MutexGuard<'static, Scopes> {
        SCOPES.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a scope with `labels` to task `id`; returns its number.
    pub(super) fn enter(id: tokio::task::Id, labels: u32) -> u64 {
        let scope = NEXT_SCOPE.fetch_add(1, Ordering::Relaxed);
        scopes().insert((id, scope), labels);
        scope
    }

    /// Takes scope `scope` of task `id` out.
    pub(super) fn leave(id: tokio::task::Id, scope: u64) {
        scopes().remove(&(id, scope));
    }

    /// Every labelled task's labels, by the id a task dump prints: those
    /// of the scope it entered last (an inner scope's set already holds
    /// its outer ones').
    pub(crate) fn all() -> HashMap<u64, super::LabelSet> {
        let mut last: HashMap<tokio::task::Id, (u64, u32)> = HashMap::new();
        for (&(id, scope), &labels) in scopes().iter() {
            let entry = last.entry(id).or_insert((scope, labels));
            if scope > entry.0 {
                *entry = (scope, labels);
            }
        }
        last.into_iter()
            .filter_map(|(id, (_, labels))| {
                Some((id.to_string().parse().ok()?, super::LabelSet(labels)))
            })
            .collect()
    }

    /// How many scopes task `id` is inside (tests).
    #[cfg(test)]
    pub(crate) fn scopes_of(id: tokio::task::Id) -> usize {
        scopes().keys().filter(|(task, _)| *task == id).count()
    }
}

/// The labels as pprof string labels on a sample, in key order.
pub(crate) fn proto_labels(b: &mut crate::stacks::Builder, id: u32) -> Vec<crate::proto::Label> {
    pairs_of(id).iter().map(|(k, v)| b.label(k, v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_interned_sorted_and_merged_as_go_merges_them() {
        let a = LabelSet::new(&[("tier", "gold"), ("kind", "export")]);
        assert_eq!(a, LabelSet::new(&[("kind", "export"), ("tier", "gold")]));
        assert_eq!(
            a.pairs(),
            [
                ("kind".to_string(), "export".to_string()),
                ("tier".to_string(), "gold".to_string())
            ]
        );
        let b = LabelSet::new(&[("kind", "summary")]);
        let m = a.merged(b);
        assert_eq!(m.get("kind").as_deref(), Some("summary"));
        assert_eq!(m.get("tier").as_deref(), Some("gold"));
        assert_eq!(
            LabelSet::new(&[("k", "1"), ("k", "2")]).get("k").as_deref(),
            Some("2")
        );
    }

    #[test]
    fn a_scope_sets_and_restores_even_on_panic() {
        let outer = LabelSet::new(&[("kind", "outer")]);
        let inner = LabelSet::new(&[("step", "render")]);
        set_thread(outer);
        with(inner, || {
            assert_eq!(current().get("kind").as_deref(), Some("outer"));
            assert_eq!(current().get("step").as_deref(), Some("render"));
        });
        assert_eq!(current(), outer);
        let _ = std::panic::catch_unwind(|| with(inner, || panic!("in the scope")));
        assert_eq!(current(), outer);
        set_thread(LabelSet::empty());
    }

    #[test]
    fn a_spawned_thread_inherits_the_callers_labels() {
        let set = LabelSet::new(&[("job", "nightly")]);
        let seen = with(set, || spawn(current).join().unwrap());
        assert_eq!(seen, set);
        assert_eq!(
            std::thread::spawn(current).join().unwrap(),
            LabelSet::empty()
        );
    }

    /// A task's labels as the goroutine dump reads them.
    #[cfg(feature = "tasks")]
    fn dumped(id: tokio::task::Id) -> Option<LabelSet> {
        by_task::all()
            .get(&id.to_string().parse::<u64>().unwrap())
            .copied()
    }

    /// An aborted task drops its outer scope before its inner one: each
    /// takes out only its own entry, and nothing of the task stays behind.
    #[cfg(feature = "tasks")]
    #[test]
    fn a_cancelled_task_leaves_no_labels_behind() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let outer = LabelSet::new(&[("kind", "export")]);
        let inner = LabelSet::new(&[("step", "render")]);
        let (at_tx, at_rx) = std::sync::mpsc::channel::<()>();
        let handle = runtime.spawn(task(outer, async move {
            task(inner, async move {
                at_tx.send(()).unwrap();
                std::future::pending::<()>().await
            })
            .await
        }));
        let id = handle.id();
        runtime.block_on(async {
            while at_rx.try_recv().is_err() {
                tokio::task::yield_now().await;
            }
        });
        assert_eq!(dumped(id), Some(outer.merged(inner)));
        handle.abort();
        assert!(runtime.block_on(handle).unwrap_err().is_cancelled());
        assert_eq!(by_task::scopes_of(id), 0, "{:?}", dumped(id));
    }

    /// Sibling scopes in one task (`join!`) end in any order: the task
    /// shows the scope it entered last while both are open, the other's
    /// once one has ended, and nothing once both have.
    #[cfg(feature = "tasks")]
    #[test]
    fn sibling_scopes_each_take_out_their_own() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let a = LabelSet::new(&[("kind", "a")]);
        let b = LabelSet::new(&[("kind", "b")]);
        let (a_tx, a_rx) = tokio::sync::oneshot::channel::<()>();
        let (b_tx, b_rx) = tokio::sync::oneshot::channel::<()>();
        let (at_tx, at_rx) = std::sync::mpsc::channel::<&str>();
        let handle = runtime.spawn(async move {
            let first = task(a, async {
                at_tx.send("a open").unwrap();
                a_rx.await.unwrap();
                at_tx.send("a done").unwrap();
            });
            let second = task(b, async {
                at_tx.send("b open").unwrap();
                b_rx.await.unwrap();
            });
            tokio::join!(first, second);
        });
        let id = handle.id();
        // The runtime has one thread: when the test hears from the task,
        // the task's poll has returned.
        let wait_for = |what: &str| {
            runtime.block_on(async {
                loop {
                    match at_rx.try_recv() {
                        Ok(heard) if heard == what => break,
                        Ok(_) => {}
                        Err(_) => tokio::task::yield_now().await,
                    }
                }
            })
        };
        wait_for("b open");
        assert_eq!(dumped(id), Some(b));
        a_tx.send(()).unwrap();
        wait_for("a done");
        runtime.block_on(tokio::task::yield_now());
        assert_eq!(dumped(id), Some(b));
        assert_eq!(by_task::scopes_of(id), 1);
        b_tx.send(()).unwrap();
        runtime.block_on(handle).unwrap();
        assert_eq!(by_task::scopes_of(id), 0);
    }
}
