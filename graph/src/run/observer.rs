//! What a run reports while it goes, for diagnostics: when each node became
//! ready, started and ended (a profile), and how many tasks are done (a
//! progress bar), and where the multi-node layer hooks in to send each
//! output that another rank reads (`export`).
//!
//! The runners are generic over the observer, so a compute without
//! diagnostics runs `Unobserved`, whose empty methods compile to nothing.

use crate::store::{BoxError, Slot};

/// Receives the events of one run, by local node index (`0..n`, a
/// topological order of the culled nodes).
///
/// Each event of a node is reported once, by the thread that handles the
/// node at that moment; `ready` before `start`, `start` before `end`, and a
/// node's `end` before the `ready` of any of its consumers.
pub(crate) trait Observer: Sync {
    /// Whether the hooks do anything: a loop that only feeds them (the
    /// roots' `ready` at the start) is skipped when they do not.
    const ACTIVE: bool = true;
    /// Node `k` became ready: its last input finished (or it is a root and
    /// the run started).
    #[inline(always)]
    fn ready(&self, _k: u32) {}
    /// Node `k`'s task starts on the calling thread.
    #[inline(always)]
    fn start(&self, _k: u32) {}
    /// Node `k`'s task returned (`ok`) or failed.
    #[inline(always)]
    fn end(&self, _k: u32, _ok: bool) {}
    /// Whether `export` does anything: only then do the runners call it.
    const EXPORTS: bool = false;
    /// Node `k`'s task returned and its output is in `output` (readable,
    /// not writable, during the call), before any of its consumers here
    /// can run: the multi-node layer sends it to other ranks. Returns
    /// whether this run still reads the output (a consumer or target
    /// here); if not, the runner drops it at once. An `Err` fails `k`, with
    /// it as the cause (the output could not be sent).
    #[inline(always)]
    fn export(&self, _k: u32, _output: &Slot) -> Result<bool, BoxError> {
        Ok(true)
    }
}

/// The observer of a compute without diagnostics.
pub(crate) struct Unobserved;

impl Observer for Unobserved {
    const ACTIVE: bool = false;
}
