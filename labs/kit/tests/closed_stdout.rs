//! A run whose stdout nobody reads any more (`cargo run -p lab-089 | head
//! -1`, or a test that started a service and went away) still ends as its
//! verdict says: the closing lines are dropped, not a panic with "failed
//! printing to stdout" and exit code 101.

use std::process::{Command, ExitCode};

/// Set when this program runs again as the child with the closed stdout.
const CHILD: &str = "LABKIT_CLOSED_STDOUT_CHILD";

fn main() -> ExitCode {
    if std::env::var_os(CHILD).is_some() {
        labkit::out::closing(&[("wrote", &"lab-out/000/cpu.pb.gz"), ("next", &"nothing")]);
        return ExitCode::SUCCESS;
    }
    // A pipe whose reading end is closed before the child starts: its
    // first write fails with EPIPE (Rust ignores SIGPIPE).
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let child = Command::new(std::env::current_exe().expect("this test's path"))
        .env(CHILD, "1")
        .stdout(writer)
        .output()
        .expect("the child runs");
    let stderr = String::from_utf8_lossy(&child.stderr);
    if child.status.success() && stderr.is_empty() {
        println!("test the_closing_lines_go_quietly_to_a_closed_stdout ... ok");
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "the child with a closed stdout ended {} and said:\n{stderr}",
            child.status
        );
        ExitCode::FAILURE
    }
}
