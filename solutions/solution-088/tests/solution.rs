//! Day 088's solution proves itself: SIGQUIT writes a task dump and the
//! service keeps answering.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use selfcheck::OrFail;
use workbook::days::day088;

#[test]
fn summary() {
    let dir = selfcheck::scratch();
    let outcome = day088::check(
        selfcheck::launch,
        Path::new(selfcheck::program!()),
        dir.path(),
    )
    .or_fail();
    let name = outcome
        .dump_file
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with("task-dump-echo-") && name.ends_with(".txt"),
        "{name}"
    );
    // Written atomically: the dump is the only file besides nothing half-done.
    let others: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(others.is_empty(), "temporary files left behind: {others:?}");
    insta::assert_snapshot!("summary", outcome.to_string());
}

#[test]
fn the_book_shows_the_snapshot() {
    selfcheck::assert_book_shows_snapshot(workbook::this_day!(), &[]);
}

/// The service as a child of this test, with its stdout and stderr piped
/// to the test, started through `sh` so that `limits` (shell `ulimit`
/// commands, may be empty) apply to it alone. Its stdin is a pipe the test
/// holds: should the test die, the service stops too.
struct Child {
    process: std::process::Child,
    stdout: std::io::Lines<BufReader<std::process::ChildStdout>>,
    addr: String,
}

impl Child {
    fn start(dir: &Path, limits: &str) -> Child {
        let mut process = Command::new("sh")
            .arg("-c")
            .arg(format!("{limits} exec \"$0\" --out \"$1\""))
            .arg(selfcheck::program!())
            .arg(dir)
            .env(workbook::service::STOP_WITH_STDIN, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(process.stdout.take().unwrap()).lines();
        let first = stdout.next().unwrap().unwrap();
        let addr = first
            .split_whitespace()
            .find(|w| w.starts_with("127.0.0.1:"))
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_string();
        Child {
            process,
            stdout,
            addr,
        }
    }

    fn quit(&self) {
        let pid = self.process.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-QUIT", &pid])
                .status()
                .unwrap()
                .success()
        );
    }

    /// The process's CPU time so far (user + system), from /proc.
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.process.id())).unwrap();
        let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// Six SIGQUITs in quick succession: six dumps under six names, none
/// replaced by the next (the first version named dumps by the second).
#[test]
fn every_dump_gets_a_file_of_its_own() {
    let dir = selfcheck::scratch();
    let mut service = Child::start(dir.path(), "");
    let mut written = Vec::new();
    for _ in 0..6 {
        service.quit();
        let line = service
            .stdout
            .by_ref()
            .map_while(Result::ok)
            .find(|l| l.starts_with("task dump"))
            .expect("the service answered SIGQUIT");
        let path = line
            .strip_prefix("task dump written to ")
            .unwrap_or_else(|| panic!("{line}"));
        written.push(path.to_string());
    }
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names.len(),
        6,
        "six dumps said {written:?}, the directory holds {names:?}"
    );
}

/// Out of file descriptors, the accept loop waits and retries: it neither
/// spins nor floods its log, and serves again once descriptors are free.
#[test]
fn accept_failures_are_waited_out_and_logged_once_a_second() {
    let dir = selfcheck::scratch();
    let mut service = Child::start(dir.path(), "ulimit -n 24 &&");
    let stderr = service.process.stderr.take().unwrap();
    let failures = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = failures.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.starts_with("accept failed") {
                counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    });
    let clients: Vec<TcpStream> = (0..30)
        .map(|_| TcpStream::connect(&service.addr).unwrap())
        .collect();
    let (cpu, start) = (service.cpu(), Instant::now());
    std::thread::sleep(Duration::from_secs(2));
    let (spent, window) = (service.cpu() - cpu, start.elapsed());
    let logged = failures.load(std::sync::atomic::Ordering::Relaxed);
    assert!(logged >= 1, "no accept failed: the limit did not bite");
    // One line a second, and one more at the start of the window.
    assert!(
        logged <= window.as_secs() + 2,
        "{logged} accept-failure lines in {window:?}"
    );
    assert!(
        spent < window / 4,
        "the service used {spent:?} of CPU in {window:?} while it could not accept"
    );
    drop(clients);
    let mut stream = TcpStream::connect(&service.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(b"ping\n").unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    assert_eq!(line, "ping\n");
}

/// A line longer than the service will hold is refused, and the client
/// disconnected, instead of being buffered without end.
#[test]
fn an_endless_line_is_refused() {
    let dir = selfcheck::scratch();
    let service = Child::start(dir.path(), "");
    let mut stream = TcpStream::connect(&service.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(b"short\n").unwrap();
    stream.write_all(&vec![b'x'; 64 * 1024 + 1]).unwrap();
    let mut answer = String::new();
    let read = std::io::Read::read_to_string(&mut stream, &mut answer);
    assert!(read.is_ok(), "the connection stayed open: {read:?}");
    assert_eq!(answer, "short\nerror: a line is at most 65536 bytes\n");
}
