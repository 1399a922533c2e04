//! Day 087, task dumps and leaks: the fixed program.
//!
//! A small quote service on tokio. Each request asks a backend for a fresh
//! quote and spawns a task that waits for the backend's reply; if the
//! reply is late, the request answers with the cached quote. The backend
//! is overloaded and never replies. Two task dumps, taken after 20 and
//! after 40 requests, show which tasks pile up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use labkit::{Error, tasks};
use tokio::sync::mpsc;
use tokio::time::timeout;
use workbook::days::day087::{DUMP_1, DUMP_2};

// ANCHOR: shape
const REQUESTS_PER_ROUND: u64 = 20;
/// How long a request waits for a fresh quote before using the cached one.
const BACKEND_DEADLINE: Duration = Duration::from_millis(5);
/// A dump waits for every worker to reach an `.await`; never wait forever.
const DUMP_TIMEOUT: Duration = Duration::from_secs(5);
// ANCHOR_END: shape

#[derive(Debug, Clone, Copy, PartialEq)]
struct Quote(u64);

const CACHED: Quote = Quote(100);

/// The service's shared state.
struct Service {
    /// Where each waiting request's reply should go, by request id.
    pending: Mutex<HashMap<u64, mpsc::Sender<Quote>>>,
    /// Requests for the backend.
    backend: mpsc::Sender<u64>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let out_dir = workbook::this_day!().out_dir();
    let runtime = tokio::runtime::Handle::current();
    let service = Arc::new(start_service());

    // ANCHOR: dumps
    serve_round(&service, 0).await;
    let first = settled_dump(&runtime).await?;
    first.save(&out_dir.join(DUMP_1))?;

    serve_round(&service, 1).await;
    let second = settled_dump(&runtime).await?;
    second.save(&out_dir.join(DUMP_2))?;
    // ANCHOR_END: dumps

    workbook::this_day!().report(&out_dir);
    Ok(())
}

/// Gives finished tasks a moment to end, then dumps every task.
async fn settled_dump(runtime: &tokio::runtime::Handle) -> Result<tasks::TaskDump, Error> {
    tokio::time::sleep(Duration::from_millis(50)).await;
    tasks::dump(runtime, DUMP_TIMEOUT).await
}

fn start_service() -> Service {
    let (backend, requests) = mpsc::channel(64);
    tokio::spawn(backend_loop(requests));
    Service {
        pending: Mutex::new(HashMap::new()),
        backend,
    }
}

/// The overloaded backend: takes every request, answers none.
async fn backend_loop(mut requests: mpsc::Receiver<u64>) {
    while let Some(id) = requests.recv().await {
        std::hint::black_box(id);
    }
}

async fn serve_round(service: &Arc<Service>, round: u64) {
    for n in 0..REQUESTS_PER_ROUND {
        let quote = handle_request(service, round * REQUESTS_PER_ROUND + n).await;
        assert_eq!(quote, CACHED, "the backend never answers");
    }
}

// ANCHOR: request
async fn handle_request(service: &Arc<Service>, id: u64) -> Quote {
    let (reply_tx, reply_rx) = mpsc::channel(1);
    service
        .pending
        .lock()
        .expect("no panics while locked")
        .insert(id, reply_tx);
    let waiter = tokio::spawn(await_reply(reply_rx));
    let _ = service.backend.send(id).await;
    match timeout(BACKEND_DEADLINE, waiter).await {
        Ok(Ok(Some(quote))) => quote,
        _ => {
            // Giving up on the backend: drop our end of the reply channel,
            // so the waiting task sees it closed and ends.
            service
                .pending
                .lock()
                .expect("no panics while locked")
                .remove(&id);
            CACHED
        }
    }
}

/// Waits for the backend's reply; ends when the reply channel closes.
async fn await_reply(mut reply: mpsc::Receiver<Quote>) -> Option<Quote> {
    reply.recv().await
}
// ANCHOR_END: request
