//! Day 095, whose CPU is it? (labels): the fixed program.
//!
//! A report service answers two kinds of request with the same code:
//! `summary` renders one page, `export` ten. Requests arrive in rounds,
//! half of each kind, on a one-thread tokio runtime, and every request
//! waits once for its rows (an `.await`) before it renders. The profile is
//! meant to say which kind burns the CPU: every sample taken while a
//! request renders should carry its `kind` label.

use std::sync::LazyLock;

use labkit::Error;
use labkit::capture::{ProfileScope, until_sampled};
use labkit::labels::{self, LabelSet};
use labkit::work::burn;
use workbook::days::day095::{self, KINDS, Pages};

// ANCHOR: shape
/// Requests per round, kinds alternating.
const PER_ROUND: usize = 8;
/// Samples the profile must hold: the rounds repeat until it does.
const SAMPLES: u64 = 400;
/// CPU per page, in `labkit::work` units.
const PAGE_UNITS: u64 = 2;
// ANCHOR_END: shape

/// A request: which kind, and so how many pages it renders.
#[derive(Clone, Copy)]
struct Request {
    kind: &'static str,
    pages: u64,
}

/// The label sets, made once (making one takes a lock; setting one is a
/// thread-local store).
static KIND_LABELS: LazyLock<[LabelSet; 2]> =
    LazyLock::new(|| KINDS.map(|(kind, _)| LabelSet::new(&[(day095::KEY, kind)])));

fn kind_labels(kind: &str) -> LabelSet {
    let i = KINDS.iter().position(|(k, _)| *k == kind).unwrap_or(0);
    KIND_LABELS[i]
}

fn main() -> Result<(), Error> {
    let out_dir = workbook::this_day!().out_dir();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| Error::io("cannot start the tokio runtime", e))?;
    let mut pages = Pages::default();
    {
        let _profile = ProfileScope::start(&out_dir)?;
        for _round in until_sampled(1, SAMPLES) {
            for (kind, rendered) in runtime.block_on(round()) {
                pages.add(kind, rendered);
            }
        }
    }
    pages.save(&out_dir)?;
    workbook::this_day!().report(&out_dir);
    Ok(())
}

/// One round of requests, all in flight at once; each request's kind and
/// the pages it rendered.
async fn round() -> Vec<(&'static str, u64)> {
    let requests = KINDS.iter().cycle().take(PER_ROUND).map(|&(kind, pages)| {
        let request = Request { kind, pages };
        tokio::spawn(async move { (kind, handle(request).await) })
    });
    let mut done = Vec::new();
    for request in requests.collect::<Vec<_>>() {
        done.push(request.await.expect("a request panicked"));
    }
    done
}

// ANCHOR: handle
/// Serves one request: fetches its rows, renders its pages.
async fn handle(request: Request) -> u64 {
    // The label travels with the request's future: it is set on every
    // poll, on whichever thread polls it, and taken off when the poll
    // returns, so the `.await` cannot leave it behind or pick up another's.
    labels::task(kind_labels(request.kind), async move {
        let rows = fetch_rows(request).await;
        render(rows)
    })
    .await
}
// ANCHOR_END: handle

/// Stands for a query to a database: the task waits, and the runtime runs
/// other requests on this thread meanwhile.
async fn fetch_rows(request: Request) -> u64 {
    tokio::task::yield_now().await;
    request.pages
}

/// The same code for both kinds: the cost is in how many pages.
#[inline(never)]
fn render(pages: u64) -> u64 {
    let mut x = 1;
    for _ in 0..pages {
        x = burn(PAGE_UNITS, x);
    }
    std::hint::black_box(pages)
}
