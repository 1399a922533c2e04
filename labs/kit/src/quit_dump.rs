//! `kill -QUIT PID` writes a goroutine dump of every thread and keeps the
//! program running, as seed 003's Go servers do with `signal.Notify`:
//! `goroutine-dump-PROGRAM-UNIXTIME.txt` in a directory of the program's
//! choosing, in Go's `debug=2` shape ([`crate::goroutine`]).
//!
//! (Go's runtime without a handler prints every goroutine on `SIGQUIT`
//! and exits with status 2; a Rust program without one just dies.)
//!
//! The handler only writes one byte into a pipe, which is
//! async-signal-safe; a thread of its own reads the pipe and takes the
//! dump outside any signal.

#![allow(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};

use crate::Error;

/// The pipe's write end, for the handler (-1 until installed).
static WAKE: AtomicI32 = AtomicI32::new(-1);

/// Installs the `SIGQUIT` handler and its dumping thread, once per
/// process: each `SIGQUIT` writes a dump into `dir` and prints its path on
/// stderr. Returns an error if the handler cannot be installed.
pub fn dump_on_sigquit(dir: &Path, program: &str) -> Result<(), Error> {
    if WAKE.load(Ordering::Acquire) >= 0 {
        return Err(Error::new("the SIGQUIT dump is already installed"));
    }
    let mut fds = [0; 2];
    // SAFETY: a valid array of two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(Error::io(
            "cannot open the SIGQUIT dump's pipe",
            std::io::Error::last_os_error(),
        ));
    }
    let (read_end, write_end) = (fds[0], fds[1]);
    let dir = dir.to_path_buf();
    let program = program.to_string();
    std::thread::Builder::new()
        .name("labkit-sigquit".into())
        .spawn(move || dump_loop(read_end, &dir, &program))
        .map_err(|e| Error::io("cannot start the SIGQUIT dump thread", e))?;
    WAKE.store(write_end, Ordering::Release);
    // SAFETY: a zeroed sigaction is valid; the handler has the
    // three-argument form SA_SIGINFO asks for.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(libc::SIGQUIT, &action, std::ptr::null_mut()) != 0 {
            return Err(Error::io(
                "cannot install the SIGQUIT handler",
                std::io::Error::last_os_error(),
            ));
        }
    }
    Ok(())
}

extern "C" fn handler(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    let _errno = crate::signal_walk::SavedErrno::save();
    let fd = WAKE.load(Ordering::Acquire);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: write(2) is async-signal-safe; one byte from the stack.
        unsafe { libc::write(fd, (&raw const byte).cast(), 1) };
    }
}

fn dump_loop(read_end: libc::c_int, dir: &Path, program: &str) {
    let mut byte = 0u8;
    loop {
        // SAFETY: reads one byte into a byte on this stack.
        let n = unsafe { libc::read(read_end, (&raw mut byte).cast(), 1) };
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        if n <= 0 {
            return;
        }
        match write_dump(dir, program) {
            Ok(path) => eprintln!("SIGQUIT: goroutine dump written to {}", path.display()),
            Err(e) => eprintln!("SIGQUIT: no goroutine dump: {e}"),
        }
    }
}

/// Takes a dump of every thread and writes it (whole or not at all) as
/// `goroutine-dump-PROGRAM-UNIXTIME.txt` in `dir`.
pub fn write_dump(dir: &Path, program: &str) -> Result<PathBuf, Error> {
    let dump = crate::goroutine::Goroutines::of_threads(crate::thread_dump::ANSWER_WITHIN)?;
    let text = dump.debug2();
    crate::stacks::release_symbols();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut path = dir.join(format!("goroutine-dump-{program}-{now}.txt"));
    let mut n = 1;
    while path.exists() {
        n += 1;
        path = dir.join(format!("goroutine-dump-{program}-{now}-{n}.txt"));
    }
    crate::atomic::write_bytes(&path, text.as_bytes())?;
    Ok(path)
}
