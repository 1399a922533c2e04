//! Go's profiler labels on labkit's profiles: every CPU sample taken in a
//! labelled scope carries the scope's labels, a thread or task spawned
//! from it inherits them, a task keeps its own wherever it is polled, and
//! `go tool pprof -tagfocus` / `labkit summary --by-label` read them.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use labkit::capture::Capture;
use labkit::labels::{self, LabelSet};

mod common;
use common::go_present;

/// Burns until this capture has `samples` samples in total.
fn burn_until(samples: u64) {
    let mut x = 1;
    while labkit::capture::samples_so_far().unwrap_or(0) < samples {
        x = labkit::work::burn(1, x);
    }
    std::hint::black_box(x);
}

#[inline(never)]
fn labelled_work(samples: u64) {
    burn_until(samples);
}

#[inline(never)]
fn unlabelled_work(samples: u64) {
    burn_until(samples);
}

#[inline(never)]
fn inherited_work(samples: u64) {
    burn_until(samples);
}

#[test]
fn cpu_samples_carry_their_scope_s_labels_and_go_reads_them() {
    let export = LabelSet::new(&[("kind", "export"), ("tenant", "acme")]);
    let capture = Capture::start().unwrap();
    labels::with(export, || labelled_work(60));
    unlabelled_work(120);
    // A thread spawned in the scope starts under its labels.
    labels::with(export, || labels::spawn(|| inherited_work(180)))
        .join()
        .unwrap();
    let recorded = capture.stop().unwrap();
    let profile = recorded.profile();
    let (mut labelled, mut unlabelled, mut inherited) = (0, 0, 0);
    for s in &profile.samples {
        let holds = |f: &str| s.stack.iter().any(|frame| frame.ends_with(f));
        let kind = s.label("kind");
        if holds("labels::labelled_work") {
            assert_eq!(kind, Some("export"), "{:?}", s.labels);
            assert_eq!(s.label("tenant"), Some("acme"));
            labelled += s.values[0];
        } else if holds("labels::unlabelled_work") {
            assert_eq!(kind, None, "{:?}", s.labels);
            unlabelled += s.values[0];
        } else if holds("labels::inherited_work") {
            assert_eq!(kind, Some("export"), "{:?}", s.labels);
            inherited += s.values[0];
        }
    }
    assert!(labelled > 0 && unlabelled > 0 && inherited > 0);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cpu.pb.gz");
    let mut bytes = Vec::new();
    recorded.write_pprof(&mut bytes).unwrap();
    std::fs::write(&file, bytes).unwrap();

    // The Go-free route: ranked by the label's values.
    let by_label = std::process::Command::new(env!("CARGO_BIN_EXE_labkit"))
        .args(["summary", "--by-label", "kind"])
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&by_label.stdout);
    assert!(
        by_label.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&by_label.stderr)
    );
    assert!(text.contains("export"), "{text}");
    assert!(text.contains("(no kind label)"), "{text}");

    if go_present() {
        let file = file.to_str().unwrap();
        let go = |args: &[&str]| {
            let mut args = args.to_vec();
            args.push(file);
            common::go_pprof(&args)
        };
        let focused = go(&["-top", "-sample_index=samples", "-tagfocus=kind=export"]);
        assert!(focused.contains("labelled_work"), "{focused}");
        assert!(focused.contains("inherited_work"), "{focused}");
        assert!(!focused.contains("unlabelled_work"), "{focused}");
        let ignored = go(&["-top", "-sample_index=samples", "-tagignore=kind=export"]);
        assert!(ignored.contains("unlabelled_work"), "{ignored}");
        assert!(!ignored.contains(" labels::labelled_work"), "{ignored}");
        let tags = go(&["-tags", "-tagshow=kind"]);
        assert!(tags.contains("kind:") && tags.contains("export"), "{tags}");
    }
}

/// Polls a future once on this thread with a waker that does nothing.
fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    future_poll(Pin::new(future))
}

fn future_poll<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    future.poll(&mut cx)
}

/// A future that is pending once, recording the labels it saw at each
/// poll.
struct TwoPolls {
    seen: Vec<LabelSet>,
}

impl Future for TwoPolls {
    type Output = Vec<LabelSet>;
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Vec<LabelSet>> {
        self.seen.push(labels::current());
        if self.seen.len() < 2 {
            Poll::Pending
        } else {
            Poll::Ready(std::mem::take(&mut self.seen))
        }
    }
}

/// A task polled on one thread, then moved to another whose own labels
/// are different (what a thread label left behind by another task is):
/// inside every poll it sees its own labels, and each thread gets its own
/// back after. Labels set on the thread instead would follow the thread.
#[test]
fn a_task_keeps_its_labels_on_whichever_thread_polls_it() {
    let export = LabelSet::new(&[("kind", "export")]);
    let summary = LabelSet::new(&[("kind", "summary")]);
    let mut task = labels::task(export, TwoPolls { seen: Vec::new() });
    labels::set_thread(summary);
    assert!(poll_once(&mut task).is_pending());
    assert_eq!(
        labels::current(),
        summary,
        "the first thread's labels are back"
    );
    let seen = std::thread::spawn(move || {
        let other = LabelSet::new(&[("kind", "left-behind")]);
        labels::set_thread(other);
        let Poll::Ready(seen) = poll_once(&mut task) else {
            panic!("ready on the second poll")
        };
        assert_eq!(labels::current(), other);
        seen
    })
    .join()
    .unwrap();
    assert_eq!(seen, [export, export]);
    labels::set_thread(LabelSet::empty());

    // A task spawned from labelled code inherits the labels it was made
    // under; one that is not wrapped runs under whatever the thread has.
    let inherited = labels::with(export, || labels::inherit(TwoPolls { seen: Vec::new() }));
    let mut inherited = inherited;
    assert!(poll_once(&mut inherited).is_pending());
    let Poll::Ready(seen) = poll_once(&mut inherited) else {
        panic!("ready on the second poll")
    };
    assert_eq!(seen, [export, export]);
}

/// On a real multi-thread runtime, with other tasks setting the thread's
/// labels between every poll (the lab's pitfall), a labelled task still
/// sees only its own.
#[test]
fn on_tokio_a_task_s_labels_survive_other_tasks_setting_the_thread_s() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let export = LabelSet::new(&[("kind", "export")]);
    let noisy: Vec<_> = (0..4)
        .map(|i| {
            runtime.spawn(async move {
                for _ in 0..200 {
                    labels::set_thread(LabelSet::new(&[("kind", "noise"), ("n", &i.to_string())]));
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let seen = runtime
        .block_on(runtime.spawn(labels::task(export, async move {
            let mut seen = Vec::new();
            for _ in 0..200 {
                seen.push(labels::current());
                tokio::task::yield_now().await;
            }
            seen
        })))
        .unwrap();
    for n in noisy {
        runtime.block_on(n).unwrap();
    }
    assert!(seen.iter().all(|&s| s == export), "{seen:?}");
}
