//! `Wire`: MPI during a rank's run, behind one mutex (`Outbox::wire`):
//! every MPI call of the run is made by the thread that holds it, so MPI is
//! called by one thread at a time (`MPI_THREAD_SERIALIZED` is enough). Two
//! kinds of thread take it:
//!
//! - a worker whose task's output another rank reads, with `try_lock`,
//!   to send it at once, when nothing was sent that way in the last
//!   `AT_ONCE_GAP` since the last poll (the first two since a poll are
//!   sent so whatever the time): the value leaves before the worker ends
//!   its job and polls, after what waited in the outbox (sent as a poll
//!   sends it, and in the same message). A worker that exports many
//!   values in a burst (a range of independent tasks) sends the first two
//!   so, and the others wait in the outbox for the next poll or the
//!   worker's next export after the gap, which send them in one message
//!   per rank; a worker that exports every few microseconds without ever
//!   polling (a chain whose values another rank reads) sends each at
//!   once, or, with tasks shorter than the gap, a few in each message
//!   (the last of such a run of exports waits for the computing thread,
//!   which the export into an empty outbox woke, or for the worker's next
//!   poll). An export waits for the wire only once exports have found it
//!   taken for long, which means that the scheduler stopped its holder;
//!   its value is then put in the outbox first, and it sends what the
//!   outbox holds (`Outbox::wire_for_export`);
//! - a poll (`driver.rs`), with `try_lock`: it skips its turn rather than
//!   wait. It sends what waits in the outbox (`flush`), receives, and
//!   frees completed sends.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mpi::topology::SimpleCommunicator;

use super::comm::{Sends, BATCH, SMALL_MAX, VALUE};
use super::exchange::{Outbox, Routes};
use super::waiting::{first_message, Waiting};
use crate::Error;

/// How long after a value sent at once the next export waits in the
/// outbox instead, until a poll or the worker's next export after the gap:
/// exports closer together than this are a burst, sent in batches. A
/// small `MPI_Isend` costs a few hundred nanoseconds. A worker that never polls (a chain exporting each value)
/// left every export after its first to the outbox, which woke the
/// computing thread, a third thread for 2 cores on 2 ranks x 1 worker
/// (Task Bench's tree at 1024 iterations, 2.9 µs tasks: wall median 8.4
/// ms, 4.2 ms sending each at once; with a gap of 2 µs, 512 iterations
/// took 5.9 ms, 2.6 with 1 µs: alternated, scratch runs, when what
/// waited was left to the computing thread). Until the
/// worker sent what waited itself once the gap had passed, tree at 256
/// iterations (0.7 µs tasks) had its values wait for the computing thread,
/// on the worker's CPU: wall median 2.3-2.8 ms, 1.9-2.6 after, lower in 6
/// alternated pairs of 6. With that, 4 µs batched a busy exporter's
/// values (a chain, or a rank passing a chain's values on) into fewer
/// messages, each of which costs the receiving rank a poll and a switch
/// more than a value in a batch does: Task Bench's tree at 128-1024
/// iterations, time per compute over the floor's in the same job, 3
/// alternated rounds, on 2 ranks 1.06-1.29 against 1.14-1.54, on 4 ranks
/// sharing 2 CPUs 1.14-1.72 against 1.27-1.83; independent tasks on 2
/// ranks (`distributed --only throughput`) 128-130 against 144-155 ns
/// per task; stencil_1d, whose worker polls between two exports, the
/// cross-rank edge and the other patterns on 4 ranks alike within the
/// noise. (A gap of 16 µs did no better than 4.)
const AT_ONCE_GAP: Duration = Duration::from_micros(4);

/// Sends in flight after which a worker's send at once also tests the
/// oldest (`Sends::poll`), which moves MPI on and frees their buffers.
const PILED_UP: usize = 16;

/// The run's communicator and the payload communicator (large values,
/// `comm.rs`), shared by the threads that take the wire.
pub(crate) struct Serialized<'c>(&'c SimpleCommunicator, &'c SimpleCommunicator);

// SAFETY: MPI is initialised with at least `MPI_THREAD_SERIALIZED`
// (`Cluster::init` checks), so any thread may call it as long as no two do
// at once: every call through this communicator during a compute is made
// by the thread holding the wire's mutex (`Outbox::comm` says so).
unsafe impl Send for Serialized<'_> {}
// SAFETY: as for `Send`: a shared reference only hands out the
// communicator to the holder of the wire's mutex.
unsafe impl Sync for Serialized<'_> {}

impl<'c> Serialized<'c> {
    pub(crate) fn new(
        comm: &'c SimpleCommunicator,
        payloads: &'c SimpleCommunicator,
    ) -> Serialized<'c> {
        Serialized(comm, payloads)
    }

    /// The communicators: call them only while holding the wire.
    pub(crate) fn get(&self) -> (&'c SimpleCommunicator, &'c SimpleCommunicator) {
        (self.0, self.1)
    }
}

/// What the holder of the wire may use (and the communicator, beside it in
/// the `Outbox`).
pub(crate) struct Wire {
    /// The sends of the run, some maybe still in flight.
    pub(crate) sends: Sends,
    /// What waited in the outbox, swapped out by a flush and back empty
    /// (with its capacity).
    waiting: Waiting,
    /// Whether, and when, a worker last sent a value at once since the
    /// last flush.
    sent_at_once: AtOnce,
}

/// The last value sent at once since the last flush (every poll flushes).
#[derive(Clone, Copy)]
enum AtOnce {
    /// None: the next is sent at once, without reading the clock. A worker
    /// that waits for a value between two exports (a stencil's step) polls
    /// in between, so it never reads the clock to send: a read is a vDSO
    /// call, 1.6 % of a rank's time on a chain alternating between two
    /// ranks, between its task's end and its value's departure (`perf`).
    None,
    /// One, when is not known: the next is sent at once too, and timed.
    Untimed,
    /// One, at this time.
    At(Instant),
}

impl Wire {
    /// The wire of a job of `ranks` ranks, with `spares` and the empty
    /// `waiting` (an earlier compute's).
    pub(crate) fn new(ranks: usize, spares: Vec<Arc<Vec<u8>>>, waiting: Waiting) -> Wire {
        Wire {
            sends: Sends::new(ranks, spares),
            waiting,
            sent_at_once: AtOnce::None,
        }
    }

    /// The bodies the flushes used, for the next compute's.
    pub(crate) fn into_waiting(self) -> Waiting {
        self.waiting
    }

    /// Starts one send on `comms` (`Sends::send`).
    ///
    /// # Errors
    /// If it cannot start (a value too large for MPI's counts).
    pub(crate) fn start(
        &mut self,
        comms: (&SimpleCommunicator, &SimpleCommunicator),
        dest: usize,
        tag: i32,
        bytes: Arc<Vec<u8>>,
    ) -> Result<(), Error> {
        self.sends.send(comms, dest, tag, bytes)
    }

    /// Sends `bytes`, a worker's export of local node `k`, to `dests` at
    /// once, unless two were sent so since the last flush, the last less
    /// than `AT_ONCE_GAP` ago (`AtOnce`); whether it did. Values waiting in
    /// `outbox` (routed by `routes`) go first, and `bytes` with them, in
    /// one message per rank (`flush`). Sent alone, the value leaves in
    /// `bytes`'s buffer, and an empty spare's takes its place.
    ///
    /// # Errors
    /// If a send cannot start.
    pub(crate) fn send_at_once(
        &mut self,
        outbox: &Outbox,
        routes: &Routes,
        (k, dests): (u32, &[u32]),
        bytes: &mut Vec<u8>,
    ) -> Result<bool, Error> {
        let at = match self.sent_at_once {
            AtOnce::None => AtOnce::Untimed,
            AtOnce::Untimed => AtOnce::At(Instant::now()),
            AtOnce::At(last) => {
                let now = Instant::now();
                if now.duration_since(last) < AT_ONCE_GAP {
                    return Ok(false);
                }
                AtOnce::At(now)
            }
        };
        if outbox.may_hold_some() {
            // Values of a burst wait, and the burst is over: nothing left
            // at once for `AT_ONCE_GAP`. A worker that never polls (a
            // chain whose values another rank reads, tasks shorter than
            // the gap) left them to the computing thread, which shares its
            // CPU and only ran when the scheduler took the CPU from the
            // worker: the reading rank starved. Sent now, batched, and
            // this value in the same message: a chain of tasks shorter
            // than the gap sends a message per gap, not one per value.
            outbox.push(k, dests, bytes);
            let mut failed = None;
            self.send_waiting(outbox, routes, |error| _ = failed.get_or_insert(error));
            self.sent_at_once = at;
            return failed.map_or(Ok(true), Err);
        }
        self.sent_at_once = at;
        let mut message = self.sends.spares.take();
        std::mem::swap(
            Arc::get_mut(&mut message).expect("a spare is unshared"),
            bytes,
        );
        for &dest in dests {
            self.start(outbox.comms(), dest as usize, VALUE, Arc::clone(&message))?;
        }
        // A worker that never polls (a chain exporting each value) would
        // leave its sends to pile up: MPI moves them on only inside its
        // calls, and the shared-memory transport runs out of buffers.
        if self.sends.pending() >= PILED_UP {
            self.sends.poll(PILED_UP);
        }
        Ok(true)
    }

    /// Sends what waits in `outbox` (routed by `routes`), several small
    /// values to one rank in one message; whether there was anything.
    /// A send that cannot start is handed to `fail`.
    pub(crate) fn flush(
        &mut self,
        outbox: &Outbox,
        routes: &Routes,
        fail: impl FnMut(Error),
    ) -> bool {
        self.sent_at_once = AtOnce::None;
        self.send_waiting(outbox, routes, fail)
    }

    /// `flush`: the large values alone, each rank's small ones in
    /// messages of at most `SMALL_MAX` bytes (the size of the receive
    /// posted for them, `inbox.rs`), in a spare's buffer.
    fn send_waiting(
        &mut self,
        outbox: &Outbox,
        routes: &Routes,
        mut fail: impl FnMut(Error),
    ) -> bool {
        // Not a look at every rank's body: a poll of an empty outbox
        // reads one flag.
        if !outbox.swap(&mut self.waiting) {
            return false;
        }
        let comms = outbox.comms();
        let mut large = std::mem::take(&mut self.waiting.large);
        for (k, bytes) in large.drain(..) {
            for &dest in routes.dests(k) {
                if let Err(error) = self.start(comms, dest as usize, VALUE, Arc::clone(&bytes)) {
                    fail(error);
                }
            }
        }
        self.waiting.large = large;
        for dest in 0..self.waiting.bodies.len() {
            let mut body = std::mem::take(&mut self.waiting.bodies[dest]);
            let mut from = 0;
            while from < body.len() {
                let end = from + first_message(&body[from..], SMALL_MAX);
                let mut message = self.sends.spares.take();
                let buffer = Arc::get_mut(&mut message).expect("a spare is unshared");
                // Copied: the body keeps its room for the next flush's
                // values. (Sent in its own buffer, a spare's in its place,
                // a body regrew from a spare's size at every burst: a
                // `realloc` per doubling, 1 % of the samples of the rank
                // relaying Task Bench's tree on 4 ranks sharing 2 CPUs.)
                buffer.extend_from_slice(&body[from..end]);
                if let Err(error) = self.start(comms, dest, BATCH, message) {
                    fail(error);
                }
                from = end;
            }
            body.clear();
            self.waiting.bodies[dest] = body;
        }
        true
    }
}
