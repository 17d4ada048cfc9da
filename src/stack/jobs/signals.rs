//! SIGINT, SIGTERM and SIGHUP while a job's event runs.
//!
//! The event runs in a process group of its own (so that a timeout can kill all of it), which
//! means a terminal's Ctrl-C, or systemd stopping the job's service, reaches only the
//! supervisor. Left to the default action the supervisor would die at once and
//! `PR_SET_PDEATHSIG` would SIGKILL the event in the middle of a task: no `interrupted` event,
//! a job row left `running`, no `on_failure`. Instead the signal is noted here, and the
//! supervisor's poll loop stops the event as it does at a timeout, then records the run.
//!
//! Installed only once the event is about to start: while a run waits for the job's lock,
//! a signal still ends it at once, which is what an operator waiting on a lock wants.

use std::sync::atomic::{AtomicI32, Ordering};

/// The last signal received, 0 for none.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

extern "C" fn note(sig: libc::c_int) {
    // Only an atomic store: the one thing a signal handler may safely do here.
    RECEIVED.store(sig, Ordering::SeqCst);
}

/// Catches SIGINT, SIGTERM and SIGHUP from now on.
pub fn catch() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: `note` is async-signal-safe (one atomic store), and `sigaction` is given a
        // zeroed, fully initialised struct.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = note as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut act.sa_mask);
            act.sa_flags = libc::SA_RESTART;
            libc::sigaction(sig, &act, std::ptr::null_mut());
        }
    }
}

/// The signal that asked the run to stop, if one did.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}
