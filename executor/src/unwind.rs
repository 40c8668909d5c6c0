//! A guard for the scheduler's own invariants against unwinding.

/// Aborts the process if dropped: created before code that must not unwind
/// (running a raw job, a worker's main loop) and `forget`-ed after it, so its
/// `drop` runs only if that code unwinds. An unwind there would leave latches
/// unset and counters wrong, and a hang is worse than an abort.
pub(crate) struct AbortOnUnwind;

impl AbortOnUnwind {
    /// The code guarded by `self` finished without unwinding.
    #[inline]
    pub(crate) fn disarm(self) {
        std::mem::forget(self);
    }
}

impl Drop for AbortOnUnwind {
    fn drop(&mut self) {
        eprintln!("delayed-executor: a job unwound into the scheduler; aborting");
        std::process::abort();
    }
}

/// Drops a panic payload whose own `Drop` may panic again (as std does
/// with the payloads it discards): that second panic is caught and its
/// payload leaked, so it cannot unwind into the scheduler.
pub(crate) fn drop_payload(payload: Box<dyn std::any::Any + Send>) {
    if let Err(again) =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(payload)))
    {
        std::mem::forget(again);
    }
}
