//! What a rank's workers do for a multi-node compute besides running its
//! tasks: they send each output that another rank reads at once, or hand it
//! to an outbox (`Exporter`, the run's observer), which the next poll
//! (`driver.rs`) sends (`wire.rs` says which).
//!
//! The protocol, numbered, is in `README.md` beside this file.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, TryLockError};
use std::thread::Thread;
use std::time::{Duration, Instant};

use mpi::topology::SimpleCommunicator;

use super::arrivals::BySource;
use super::codec::Codec;
use super::run_buffers::RunBuffers;
use super::waiting::{Waiting, BATCHED};
use super::wire::{Serialized, Wire};
use crate::run::{Observer, Plan};
use crate::store::value::Slot;
use crate::store::BoxError;
use crate::Error;

thread_local! {
    /// Whether this thread is running a task of a multi-node compute: a
    /// compute asked for from inside one runs on this rank alone.
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
    /// The buffer this thread's exports encode into (`Exporter::export`).
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Whether the calling thread is inside a task of a multi-node compute.
pub(crate) fn in_task() -> bool {
    IN_TASK.with(Cell::get)
}

/// Where this rank's part of a compute sends and receives: per local node
/// of the rank's plan. A rank whose part neither sends nor receives (every
/// task here, or none) keeps nothing per node: every list is empty.
pub(crate) struct Routes {
    /// Ranks that read node `k`'s output: `to[from[k]..from[k + 1]]`.
    pub(crate) from: Vec<u32>,
    pub(crate) to: Vec<u32>,
    /// Whether node `k`'s output is also read here (a consumer or a
    /// target on this rank).
    pub(crate) read_here: Vec<bool>,
    /// How node `k`'s values cross ranks.
    pub(crate) codecs: Vec<&'static Codec>,
    /// The rank each external node's value comes from (`u32::MAX` for a
    /// node of this rank).
    pub(crate) source: Vec<u32>,
    /// Number of external nodes.
    pub(crate) externals: usize,
    /// The external nodes, per rank that sends their values.
    pub(crate) by_source: BySource,
}

impl Routes {
    /// The routes of a part that neither sends nor receives.
    pub(crate) fn none() -> Routes {
        Routes::with_capacity(0)
    }

    /// Empty routes, with room for those of `nodes` local nodes.
    pub(crate) fn with_capacity(nodes: usize) -> Routes {
        Routes {
            from: Vec::with_capacity(nodes + 1),
            to: Vec::new(),
            read_here: Vec::with_capacity(nodes),
            codecs: Vec::with_capacity(nodes),
            source: Vec::with_capacity(nodes),
            externals: 0,
            by_source: BySource::default(),
        }
    }

    /// The ranks that read local node `k`'s output.
    #[inline]
    pub(crate) fn dests(&self, k: u32) -> &[u32] {
        match self.from.get(k as usize..k as usize + 2) {
            Some(&[start, end]) => &self.to[start as usize..end as usize],
            _ => &[],
        }
    }

    /// The rank whose value external node `k` is; `None` for a node of
    /// this rank.
    #[inline]
    pub(crate) fn source(&self, k: u32) -> Option<u32> {
        self.source
            .get(k as usize)
            .copied()
            .filter(|&rank| rank != u32::MAX)
    }
}

/// What leaves this rank during a run: outputs encoded by the workers,
/// waiting for the next poll to send them (framed in each reading rank's
/// next batch, `waiting.rs`), and the wire every MPI call of the run goes
/// through (`wire.rs`). A worker
/// that exported polls as soon as it is idle; the first export into an
/// empty outbox also wakes the computing thread (`driver.rs`), which sleeps
/// otherwise, so that a busy rank's values leave at once, and those
/// exported while it wakes travel with them in one batch.
pub(crate) struct Outbox<'c> {
    queue: Mutex<Waiting>,
    /// Whether `queue` may hold something: written under its lock, read
    /// without it by a poll, which locks only when it says so. Relaxed: a
    /// hint, never what a value is read by. A poll that reads a stale
    /// `false` leaves the value to the next one; the worker that exported
    /// it reads its own write, and after the run the computing thread's
    /// wait for the last job orders every export before its read.
    filled: AtomicBool,
    /// MPI, for whoever holds it.
    pub(crate) wire: Mutex<Wire>,
    comms: Serialized<'c>,
    /// The computing thread, once it drives the run (`set_poller`): woken
    /// by an export into an empty outbox.
    poller: OnceLock<Thread>,
    /// The exports that found the wire taken since one last got it.
    missed: Missed,
}

/// Exports that found the wire taken without a break (`wire_for_export`).
struct Missed {
    /// When the first of them did, in nanoseconds after `epoch`.
    since: AtomicU64,
    /// How many did: 0 if the last export got the wire.
    count: AtomicU64,
    epoch: Instant,
}

/// Whether `misses` exports that found the wire taken over `streak`
/// nanoseconds call for waiting for it: the streak is longer than a poll
/// (`WIRE_WAIT_AFTER`) and not a burst (on average `SPACED_MISSES` or
/// more between two misses).
fn worth_waiting(streak: u64, misses: u64) -> bool {
    streak >= WIRE_WAIT_AFTER.as_nanos() as u64
        && streak >= misses.saturating_mul(SPACED_MISSES.as_nanos() as u64)
}

/// Exports that find the wire taken on average this far apart or more are
/// a chain's, each of which would leave soon after its task, not a burst
/// of independent tasks' (whose values wait in the outbox anyway): the
/// wait above was measured with this spacing (1.7 µs tasks waited, 0.2 µs
/// ones did not), when it was also the gap between two values sent at
/// once (`wire::AT_ONCE_GAP`, 4 µs since).
const SPACED_MISSES: Duration = Duration::from_micros(1);

/// The largest export buffer a thread keeps (`SCRATCH`): one grown by a
/// larger value is dropped after its export.
const SCRATCH_KEPT: usize = 1 << 10;

/// Misses between two looks at the clock
/// (`Outbox::worth_waiting_after_a_miss`).
const MISSES_PER_LOOK: u64 = 64;

/// How long exports find the wire taken before one waits for it: longer
/// than a poll that sends large batches, shorter than a scheduler's slice.
const WIRE_WAIT_AFTER: Duration = Duration::from_micros(500);

impl<'c> Outbox<'c> {
    pub(crate) fn new(
        comm: &'c SimpleCommunicator,
        payloads: &'c SimpleCommunicator,
        ranks: usize,
        buffers: &mut RunBuffers,
    ) -> Outbox<'c> {
        let spares = std::mem::take(&mut buffers.spares);
        Outbox {
            queue: Mutex::new(buffers.waiting(ranks)),
            filled: AtomicBool::new(false),
            wire: Mutex::new(Wire::new(ranks, spares, buffers.waiting(ranks))),
            comms: Serialized::new(comm, payloads),
            poller: OnceLock::new(),
            missed: Missed {
                since: AtomicU64::new(0),
                count: AtomicU64::new(0),
                epoch: Instant::now(),
            },
        }
    }

    /// Keeps what the outbox allocated in `buffers`, for the next
    /// compute's (`run_buffers.rs`); the spares went with the sends.
    pub(crate) fn give_back(self, buffers: &mut RunBuffers) {
        let queue = self
            .queue
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        buffers.keep_waiting(queue);
        let wire = self
            .wire
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        buffers.keep_waiting(wire.into_waiting());
    }

    /// Names the thread that drives the run: exports wake it (`push`).
    pub(crate) fn set_poller(&self, thread: Thread) {
        // A second drive of one outbox does not happen; the first thread stays.
        let _ = self.poller.set(thread);
    }

    /// The run's communicator and the payload communicator (`comm.rs`):
    /// call them only while holding the wire.
    pub(crate) fn comms(&self) -> (&'c SimpleCommunicator, &'c SimpleCommunicator) {
        self.comms.get()
    }

    /// Leaves `bytes`, the encoded output of local node `k` for `dests`,
    /// for the next flush: copied into the batches to `dests` if it is
    /// small, else kept whole (`waiting.rs`).
    pub(crate) fn push(&self, k: u32, dests: &[u32], bytes: &mut Vec<u8>) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if bytes.len() <= BATCHED {
            queue.add_small(dests, bytes);
        } else {
            queue.large.push((k, Arc::new(std::mem::take(bytes))));
        }
        if !self.filled.swap(true, Ordering::Relaxed) {
            // The outbox was empty: the computing thread may sleep for up
            // to a millisecond (`Backoff::sleeping`). An unpark before its
            // park makes that park return at once, so none is lost.
            if let Some(poller) = self.poller.get() {
                poller.unpark();
            }
        }
    }

    /// Whether exports may wait here (the hint above).
    pub(crate) fn may_hold_some(&self) -> bool {
        self.filled.load(Ordering::Relaxed)
    }

    /// Swaps what waits in the outbox with `list` if it may hold
    /// something: a flush takes what was exported and leaves its own
    /// `Waiting`, emptied with its capacity kept, for the next exports;
    /// whether it did. An empty outbox is not locked.
    pub(crate) fn swap(&self, list: &mut Waiting) -> bool {
        debug_assert!(list.is_empty());
        if !self.may_hold_some() {
            return false;
        }
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::swap(&mut *queue, list);
        self.filled.store(false, Ordering::Relaxed);
        true
    }

    /// The wire for an export: tried, and waited for once a chain's
    /// exports (on average `SPACED_MISSES` or more apart, not a burst,
    /// whose values wait in the outbox anyway) have found it taken for
    /// `WIRE_WAIT_AFTER` without a break.
    ///
    /// Another thread holds the wire for one poll, microseconds, unless the
    /// scheduler took that thread's CPU in the middle of it (an MPI call
    /// that finds nothing yields the CPU when ranks share CPUs, and a
    /// worker that shares a core with the computing thread keeps the CPU
    /// for the scheduler's slice): then waiting is what lets it run. Tried
    /// only, the worker of a chain went on exporting into the outbox while
    /// the computing thread, descheduled on the same CPU, held the wire: on
    /// 4 ranks sharing 2 CPUs, Task Bench's tree sent all 1000 values of a
    /// rank's chain in one batch at its end, and the ranks reading them
    /// idled meanwhile (tree at 1024 iterations, over the floor's time
    /// per compute in the same job, 4 alternated pairs: 1.16-1.41 with
    /// this rule, 1.25-1.56 without). Waiting in a burst cost throughput
    /// instead: on 2 ranks, 200000 independent tasks took a quarter longer
    /// when exports waited after 500 µs of misses (130-200 µs waits, while
    /// the computing thread sent what the burst had left in the outbox),
    /// and a fifth longer when every miss waited.
    ///
    /// `Err(true)`: wait. The export then puts its value in the outbox
    /// before it waits (`flush_after_waiting`), so that whoever holds the
    /// wire or takes it first sends it: a mutex is not fair, and the polls
    /// of idle workers, which only try it, may take it again and again
    /// before the waiter does.
    #[inline]
    fn wire_for_export(&self) -> Result<MutexGuard<'_, Wire>, bool> {
        match self.try_wire() {
            Some(wire) => {
                if self.missed.count.load(Ordering::Relaxed) != 0 {
                    self.missed.count.store(0, Ordering::Relaxed);
                }
                Ok(wire)
            }
            None => Err(self.worth_waiting_after_a_miss()),
        }
    }

    /// `wire_for_export` once the wire was found taken: whether the misses
    /// so far call for waiting. The clock is read at the first miss and
    /// every `MISSES_PER_LOOK` after it: read at every miss, it cost 200000
    /// independent tasks on 2 ranks a seventh of their throughput.
    #[cold]
    #[inline(never)]
    fn worth_waiting_after_a_miss(&self) -> bool {
        // Relaxed: hints shared by the workers; a stale or lost value only
        // makes an export wait sooner or later.
        let count = self.missed.count.fetch_add(1, Ordering::Relaxed) + 1;
        if count == 1 {
            let now = self.missed.epoch.elapsed().as_nanos() as u64;
            self.missed.since.store(now, Ordering::Relaxed);
            return false;
        }
        if count % MISSES_PER_LOOK != 0 {
            return false;
        }
        let now = self.missed.epoch.elapsed().as_nanos() as u64;
        let streak = now.saturating_sub(self.missed.since.load(Ordering::Relaxed));
        worth_waiting(streak, count)
    }

    /// Waits for the wire, then sends what waits in the outbox (an export
    /// that was worth waiting for, `wire_for_export`, is there).
    ///
    /// # Errors
    /// The first send that could not start.
    #[cold]
    #[inline(never)]
    fn flush_after_waiting(&self, routes: &Routes) -> Result<(), Error> {
        let mut wire = self.wire();
        self.missed.count.store(0, Ordering::Relaxed);
        let mut failed = None;
        wire.flush(self, routes, |error| _ = failed.get_or_insert(error));
        failed.map_or(Ok(()), Err)
    }

    /// The wire, once no other thread holds it.
    pub(crate) fn wire(&self) -> MutexGuard<'_, Wire> {
        // A thread that panicked holding it left it whole, as below.
        self.wire.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The wire, if no other thread holds it.
    pub(crate) fn try_wire(&self) -> Option<MutexGuard<'_, Wire>> {
        match self.wire.try_lock() {
            Ok(wire) => Some(wire),
            // A thread that panicked holding it (a bug: user code runs
            // under `catch_unwind`) left it whole: sends are recorded as
            // they start.
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }
}

/// The observer of a rank's run: marks the threads running tasks, encodes
/// the outputs other ranks read, and passes every event on to `inner`
/// (diagnostics).
pub(crate) struct Exporter<'x, O> {
    pub(crate) inner: &'x O,
    pub(crate) plan: &'x Plan,
    pub(crate) routes: &'x Routes,
    pub(crate) outbox: &'x Outbox<'x>,
}

impl<O: Observer> Observer for Exporter<'_, O> {
    const ACTIVE: bool = O::ACTIVE;
    const EXPORTS: bool = true;

    #[inline]
    fn ready(&self, k: u32) {
        self.inner.ready(k);
    }

    #[inline]
    fn start(&self, k: u32) {
        IN_TASK.with(|t| t.set(true));
        self.inner.start(k);
    }

    #[inline]
    fn end(&self, k: u32, ok: bool) {
        self.inner.end(k, ok);
        IN_TASK.with(|t| t.set(false));
    }

    fn export(&self, k: u32, output: &Slot) -> Result<bool, BoxError> {
        let dests = self.routes.dests(k);
        if dests.is_empty() {
            return Ok(true);
        }
        let id = self.plan.node_id(k);
        let codec = self.routes.codecs[k as usize];
        // Encoded into this thread's buffer, then copied into the batches
        // that wait in the outbox, or sent in it at once (`waiting.rs`).
        // Not encoded while holding the wire: a large value would keep
        // every poll out.
        let mut bytes = SCRATCH.take();
        // SAFETY: the runner calls `export` with `k`'s output in its slot,
        // before any consumer can run, and writes nothing to it during the
        // call. A panicking `Serialize` is an error here.
        let sent = match unsafe { codec.encode_slot(output, &id.to_le_bytes(), &mut bytes) } {
            Ok(()) => self.send(k, dests, &mut bytes).map_err(BoxError::from),
            Err(why) => {
                // The task fails: its name, key and rank come with the message.
                let ranks = dests.iter().map(u32::to_string).collect::<Vec<_>>();
                let noun = if ranks.len() == 1 { "rank" } else { "ranks" };
                let ranks = ranks.join(", ");
                Err(format!("delayed::mpi: cannot send its output to {noun} {ranks}: {why}").into())
            }
        };
        if bytes.capacity() > SCRATCH_KEPT {
            bytes = Vec::new();
        }
        SCRATCH.set(bytes);
        sent?;
        Ok(self.routes.read_here[k as usize])
    }
}

impl<O> Exporter<'_, O> {
    /// Sends `bytes`, the encoded output of local node `k`, to `dests`: at
    /// once if this thread gets the wire (`Wire::send_at_once`), else by
    /// the next flush (`Outbox::push`). A value sent at once leaves in
    /// `bytes`'s buffer, and a spare's takes its place.
    ///
    /// # Errors
    /// If a send cannot start.
    fn send(&self, k: u32, dests: &[u32], bytes: &mut Vec<u8>) -> Result<(), Error> {
        match self.outbox.wire_for_export() {
            Ok(mut wire) => {
                if !wire.send_at_once(self.outbox, self.routes, (k, dests), bytes)? {
                    drop(wire);
                    self.outbox.push(k, dests, bytes);
                }
            }
            Err(wait) => {
                self.outbox.push(k, dests, bytes);
                if wait {
                    self.outbox.flush_after_waiting(self.routes)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_waits_for_the_wire_only_after_a_long_streak_of_spaced_misses() {
        let us = |n: u64| n * 1000;
        // A chain of 1.7 µs tasks whose computing thread was descheduled.
        assert!(worth_waiting(us(544), 320));
        // Not yet: one poll's length.
        assert!(!worth_waiting(us(109), 64));
        // A burst of exports 0.2 µs apart, however long the holder takes.
        assert!(!worth_waiting(us(640), 3200));
        // Exactly at both bounds.
        assert!(worth_waiting(us(500), 500));
        assert!(!worth_waiting(us(500), 501));
    }
}
