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

use labkit::net::Acceptor;
use labkit::{Error, out, tasks};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
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

    // `println!` would end the service if whoever started it stopped
    // reading (`| head -1`): `say` lets the lines go instead.
    out::say(format_args!(
        "{SERVICE} service listening on {addr} (pid {})",
        std::process::id()
    ));
    out::say(format_args!(
        "for a task dump: kill -QUIT {} (dumps go to {})",
        std::process::id(),
        out::display(&out_dir)
    ));
    let mut term =
        signal(SignalKind::terminate()).map_err(|e| Error::io("cannot watch SIGTERM", e))?;
    tokio::select! {
        _ = tokio::spawn(accept_loop(listener)) => {}
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = tokio::time::sleep(LIFETIME) => {}
    }
    out::say(format_args!("{SERVICE} service stopped"));
    Ok(())
}

// ANCHOR: dump
// Ready for the SIGQUIT handling you will add: until then, unused.
#[allow(dead_code)]
/// Answers every SIGQUIT with a task dump.
async fn on_quit(mut quit: Signal, runtime: tokio::runtime::Handle, dir: std::path::PathBuf) {
    let mut dumps = 0;
    while quit.recv().await.is_some() {
        dumps += 1;
        match write_dump(&runtime, &dir, dumps).await {
            Ok(path) => out::say(format_args!("task dump written to {}", out::display(&path))),
            Err(e) => eprintln!("task dump failed: {e}"),
        }
    }
}

#[allow(dead_code)]
/// Dumps every task to `task-dump-<service>-<unix time>-<pid>-<n>.txt`,
/// atomically: the `n`th dump of this process. Two dumps in one second
/// get two names, and an existing file is never replaced.
async fn write_dump(
    runtime: &tokio::runtime::Handle,
    dir: &std::path::Path,
    n: u64,
) -> Result<std::path::PathBuf, Error> {
    let dump = tasks::dump(runtime, DUMP_TIMEOUT).await?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let pid = std::process::id();
    let path = dir.join(format!("task-dump-{SERVICE}-{now}-{pid}-{n}.txt"));
    dump.save_new(&path)?;
    Ok(path)
}
// ANCHOR_END: dump

/// Serves every connection. When accepting fails (out of file
/// descriptors, say) the acceptor waits and retries, and logs it once a
/// second, instead of spinning on the error.
async fn accept_loop(listener: TcpListener) {
    let mut acceptor = Acceptor::new(listener);
    loop {
        let (stream, _) = acceptor.accept().await;
        tokio::spawn(echo(stream));
    }
}

/// The longest line the service echoes. A client that sends more without
/// a newline is told so and disconnected: the service holds at most this
/// much of anyone's line.
const MAX_LINE: usize = 64 * 1024;

/// Echoes each line back, up to [`MAX_LINE`] bytes a line.
async fn echo(stream: TcpStream) {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        line.clear();
        let mut limited = (&mut read).take(MAX_LINE as u64 + 1);
        match limited.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if line.len() > MAX_LINE {
            let refusal = format!("error: a line is at most {MAX_LINE} bytes\n");
            let _ = write.write_all(refusal.as_bytes()).await;
            return;
        }
        if !line.ends_with(b"\n") {
            line.push(b'\n'); // the last line, cut by the end of the stream
        }
        if write.write_all(&line).await.is_err() {
            return;
        }
    }
}
