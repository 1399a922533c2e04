//! `labkit::net::stop_signal`: the first SIGTERM completes it (the service
//! then stops in order), and leaves SIGTERM and SIGINT at their default
//! action, so that a second signal ends the process at once, whatever is
//! still running. Before, a second SIGINT and a third SIGTERM did nothing.
#![allow(unsafe_code)]

use std::time::Duration;

/// The disposition of `signal` now: whether it is the default action.
fn is_default(signal: libc::c_int) -> bool {
    // SAFETY: a zeroed sigaction is a valid out-parameter; no new action
    // is set (the second argument is null).
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut old);
        old.sa_sigaction == libc::SIG_DFL
    }
}

#[test]
fn the_first_signal_stops_and_the_second_would_end_the_process() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let stop = tokio::spawn(labkit::net::stop_signal());
        // Let it install its handlers; then they are not the default.
        while is_default(libc::SIGTERM) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(!stop.is_finished());
        // SAFETY: sends SIGTERM to this process, whose handler is tokio's.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGTERM);
        }
        tokio::time::timeout(Duration::from_secs(30), stop)
            .await
            .expect("the first SIGTERM completes stop_signal")
            .unwrap();
    });
    assert!(
        is_default(libc::SIGTERM),
        "a second SIGTERM must end the process"
    );
    assert!(
        is_default(libc::SIGINT),
        "a second SIGINT must end the process"
    );
}
