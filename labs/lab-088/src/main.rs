//! Day 088, dumps on demand: the lab.
//!
//! A small echo service on tokio, listening on 127.0.0.1. In Go, sending
//! SIGQUIT to a running service prints every goroutine's stack and exits;
//! in Rust, SIGQUIT's default action just kills the process.
//!
//! Run it (`cargo run -p lab-088`), then from another terminal
//! `kill -QUIT <pid>` (it prints its pid). Make SIGQUIT write a task dump
//! and keep the service running; self-check with `cargo test -p lab-088`.
//! The page is `book/day-088.md`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use labkit::{Error, out, tasks};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{Signal, SignalKind, signal};

const SERVICE: &str = "echo";
const DUMP_TIMEOUT: Duration = Duration::from_secs(5);
/// The service stops by itself after this long, so a forgotten one does
/// not run forever; SIGTERM or Ctrl-C stop it sooner.
const LIFETIME: Duration = Duration::from_secs(60);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let out_dir = workbook::this_day!().out_dir();
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Error::io("cannot listen on 127.0.0.1", e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("cannot read the listening address", e))?;

    // ANCHOR: quit
    // (No SIGQUIT handling yet.)
    // ANCHOR_END: quit

    println!(
        "{SERVICE} service listening on {addr} (pid {})",
        std::process::id()
    );
    println!(
        "for a task dump: kill -QUIT {} (dumps go to {})",
        std::process::id(),
        out::display(&out_dir)
    );
    let mut term =
        signal(SignalKind::terminate()).map_err(|e| Error::io("cannot watch SIGTERM", e))?;
    tokio::select! {
        _ = tokio::spawn(accept_loop(listener)) => {}
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = tokio::time::sleep(LIFETIME) => {}
    }
    println!("{SERVICE} service stopped");
    Ok(())
}

// ANCHOR: dump
// Ready for the SIGQUIT handling you will add: until then, unused.
#[allow(dead_code)]
/// Answers every SIGQUIT with a task dump.
async fn on_quit(mut quit: Signal, runtime: tokio::runtime::Handle, dir: std::path::PathBuf) {
    while quit.recv().await.is_some() {
        match write_dump(&runtime, &dir).await {
            Ok(path) => println!("task dump written to {}", out::display(&path)),
            Err(e) => eprintln!("task dump failed: {e}"),
        }
    }
}

#[allow(dead_code)]
/// Dumps every task to `task-dump-<service>-<unix time>.txt`, atomically.
async fn write_dump(
    runtime: &tokio::runtime::Handle,
    dir: &std::path::Path,
) -> Result<std::path::PathBuf, Error> {
    let dump = tasks::dump(runtime, DUMP_TIMEOUT).await?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let path = dir.join(format!("task-dump-{SERVICE}-{now}.txt"));
    dump.save(&path)?;
    Ok(path)
}
// ANCHOR_END: dump

async fn accept_loop(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(echo(stream));
            }
            Err(e) => eprintln!("accept failed: {e}"),
        }
    }
}

async fn echo(stream: TcpStream) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if write
            .write_all(format!("{line}\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}
