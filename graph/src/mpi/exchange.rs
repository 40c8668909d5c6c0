//! What a rank does during a multi-node compute besides running its tasks:
//! its workers hand each output that another rank reads to an outbox
//! (`Exporter`, the run's observer), and the computing thread (`drive`)
//! sends those, receives the values this rank waits for and delivers them
//! to the run, and spreads a failure to every rank.
//!
//! The protocol, numbered, is in `README.md` beside this file.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use mpi::topology::SimpleCommunicator;

use super::codec::Codec;
use super::comm::{self, Incoming, Sends, FAIL, VALUE};
use super::Cluster;
use crate::error::panic_message;
use crate::run::{Observer, Plan, Remote, RunState};
use crate::store::Store;
use crate::value::Slot;
use crate::Error;

thread_local! {
    /// Whether this thread is running a task of a multi-node compute: a
    /// compute asked for from inside one runs on this rank alone.
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
}

/// Whether the calling thread is inside a task of a multi-node compute.
pub(crate) fn in_task() -> bool {
    IN_TASK.with(Cell::get)
}

/// Where this rank's part of a compute sends and receives: per local node
/// of the rank's plan.
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
}

impl Routes {
    fn dests(&self, k: u32) -> &[u32] {
        &self.to[self.from[k as usize] as usize..self.from[k as usize + 1] as usize]
    }
}

/// Outputs encoded by the workers, waiting for the computing thread to send
/// them: (local node, its message).
pub(crate) struct Outbox {
    queue: Mutex<Vec<(u32, Arc<Vec<u8>>)>>,
    /// The computing thread, woken when the queue gets a message.
    driver: Thread,
}

impl Outbox {
    pub(crate) fn new() -> Outbox {
        Outbox {
            queue: Mutex::new(Vec::new()),
            driver: thread::current(),
        }
    }

    fn push(&self, k: u32, bytes: Vec<u8>) {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((k, Arc::new(bytes)));
        self.driver.unpark();
    }

    fn take(&self) -> Vec<(u32, Arc<Vec<u8>>)> {
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The observer of a rank's run: marks the threads running tasks, encodes
/// the outputs other ranks read, and passes every event on to `inner`
/// (diagnostics).
pub(crate) struct Exporter<'x, O> {
    pub(crate) inner: &'x O,
    pub(crate) plan: &'x Plan,
    pub(crate) routes: &'x Routes,
    pub(crate) outbox: &'x Outbox,
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

    fn export(&self, k: u32, output: &Slot) -> Result<bool, Error> {
        if self.routes.dests(k).is_empty() {
            return Ok(true);
        }
        let id = self.plan.node_id(k);
        let codec = self.routes.codecs[k as usize];
        // A `Serialize` implementation is user code: it may panic.
        let encoded = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: the runner calls `export` with `k`'s output in its
            // slot, before any consumer can run, and writes nothing to it
            // during the call.
            unsafe { codec.encode_slot(output, &id.to_le_bytes()) }
        }));
        let bytes = match encoded {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(message)) => return Err(Error::cluster(format!("delayed::mpi: {message}"))),
            Err(payload) => {
                return Err(Error::cluster(format!(
                    "delayed::mpi: encoding the output of a task panicked: {}",
                    panic_message(&*payload)
                )))
            }
        };
        self.outbox.push(k, bytes);
        Ok(self.routes.read_here[k as usize])
    }
}

/// What the computing thread knows at the end of the run.
pub(crate) struct Drive {
    /// The sends of the run, some maybe still in flight.
    pub(crate) sends: Sends,
    /// Messages received from each rank.
    pub(crate) received: Vec<u64>,
}

/// How long the computing thread polls without a pause after the last
/// message or event, before it starts to sleep between polls: a chain
/// crossing ranks every task sees its next value within this, so it is
/// never slept through; a rank that waits longer for a value stops
/// spinning a core.
const SPIN: Duration = Duration::from_micros(200);
/// The longest sleep between two polls: the latency added to a value that
/// arrives after a long wait.
const MAX_SLEEP: Duration = Duration::from_micros(500);
/// How long a cancelled run may take to end, after the watchdog fired,
/// before the job is aborted: a task stuck in user code never returns.
const ABORT_GRACE: Duration = Duration::from_secs(10);

/// The computing thread's loop while its rank's run goes on (steps 5 to 8
/// of `README.md`): send what the workers exported, deliver what arrives,
/// spread a failure, and watch the clock. Returns once the run is over.
#[allow(clippy::too_many_arguments)]
pub(crate) fn drive<O: Observer>(
    remote: &Remote<'_, '_, Exporter<'_, O>>,
    comm: &SimpleCommunicator,
    store: &Store,
    plan: &Plan,
    routes: &Routes,
    outbox: &Outbox,
    cluster: &Cluster,
    timeout: Option<Duration>,
) -> Drive {
    let (ranks, me) = (cluster.size(), cluster.rank());
    let state = remote.state();
    let mut sends = Sends::new(ranks);
    let mut received = vec![0u64; ranks];
    // Per local node: whether its value was delivered or given up.
    let mut settled = vec![false; plan.len()];
    let mut waiting = routes.externals;
    let mut told_others = false;
    let mut cancelled_by_others = false;
    let started = Instant::now();
    let mut watchdog_fired: Option<Instant> = None;
    let mut last_event = Instant::now();
    let mut sleep = Duration::from_micros(10);
    loop {
        let mut progress = false;
        for (k, bytes) in outbox.take() {
            send_all(&mut sends, comm, state, routes.dests(k), VALUE, &bytes);
            progress = true;
        }
        while let Some(Incoming { source, tag, bytes }) = comm::try_receive(comm) {
            received[source] += 1;
            progress = true;
            match tag {
                VALUE => {
                    let id = u32::from_le_bytes(bytes[..4].try_into().expect("a 4-byte header"));
                    let k = plan
                        .local_index(id)
                        .filter(|&k| routes.source[k as usize] == source as u32);
                    let Some(k) = k else {
                        state.fail(Error::cluster(format!(
                            "delayed::mpi: internal error: rank {source} sent the output of task \
                             key {id}, which rank {me} does not wait for"
                        )));
                        continue;
                    };
                    if settled[k as usize] {
                        // Given up after a cancel: nothing reads it.
                        continue;
                    }
                    let decoded = catch_unwind(AssertUnwindSafe(|| {
                        routes.codecs[k as usize].decode(&bytes[4..])
                    }));
                    match decoded {
                        Ok(Ok(value)) => {
                            settled[k as usize] = true;
                            waiting -= 1;
                            // SAFETY: `k` is an external node of the plan
                            // (it has a source rank), settled now and never
                            // again, and its codec made a value of its
                            // output type.
                            unsafe { remote.deliver(k, value) };
                        }
                        Ok(Err(message)) => state.fail(Error::cluster(format!(
                            "delayed::mpi: the output of task '{}' (key {id}) from rank {source}: \
                             {message}",
                            store.name(id)
                        ))),
                        Err(payload) => state.fail(Error::cluster(format!(
                            "delayed::mpi: decoding the output of task '{}' (key {id}) panicked: {}",
                            store.name(id),
                            panic_message(&*payload)
                        ))),
                    }
                }
                FAIL => {
                    cancelled_by_others = true;
                    state.cancel();
                }
                _ => state.fail(Error::cluster(format!(
                    "delayed::mpi: internal error: a message with tag {tag} from rank {source}"
                ))),
            }
        }
        if state.is_cancelled() {
            if !cancelled_by_others && !told_others {
                // This rank failed: every other rank cancels too.
                let others: Vec<u32> = (0..ranks as u32).filter(|&r| r as usize != me).collect();
                send_all(
                    &mut sends,
                    comm,
                    state,
                    &others,
                    FAIL,
                    &Arc::new(Vec::new()),
                );
                told_others = true;
            }
            // The values still awaited may never come: give them up, so
            // that the run can end.
            if waiting > 0 {
                for (settled, &source) in settled.iter_mut().zip(&routes.source) {
                    if source != u32::MAX && !*settled {
                        *settled = true;
                        waiting -= 1;
                        remote.abandon();
                    }
                }
            }
        }
        progress |= sends.poll(64);
        if remote.is_done() {
            break;
        }
        if let Some(limit) = timeout {
            match watchdog_fired {
                None if started.elapsed() > limit => {
                    watchdog_fired = Some(Instant::now());
                    state.fail(watchdog_error(
                        store, plan, routes, &settled, limit, me, waiting,
                    ));
                }
                Some(fired) if fired.elapsed() > ABORT_GRACE => cluster.abort(&format!(
                    "rank {me}: the watchdog fired after {limit:?} and the rank's tasks still \
                     run {ABORT_GRACE:?} later"
                )),
                _ => {}
            }
        }
        if progress {
            last_event = Instant::now();
            sleep = Duration::from_micros(10);
        } else if last_event.elapsed() < SPIN {
            std::hint::spin_loop();
        } else {
            // Nothing to do for a while: sleep, woken early by a worker
            // with something to send.
            thread::park_timeout(sleep);
            sleep = (sleep * 2).min(MAX_SLEEP);
        }
    }
    // The last jobs' exports: every job ended, so all are in the outbox.
    for (k, bytes) in outbox.take() {
        send_all(&mut sends, comm, state, routes.dests(k), VALUE, &bytes);
    }
    Drive { sends, received }
}

/// Starts sending `bytes` to each of `dests`; a send that cannot start
/// fails the run.
fn send_all(
    sends: &mut Sends,
    comm: &SimpleCommunicator,
    state: &RunState<'_>,
    dests: &[u32],
    tag: i32,
    bytes: &Arc<Vec<u8>>,
) {
    for &dest in dests {
        if let Err(error) = sends.send(comm, dest as usize, tag, Arc::clone(bytes)) {
            state.fail(error);
            return;
        }
    }
}

/// The watchdog's failure: how long, and what this rank still waits for.
fn watchdog_error(
    store: &Store,
    plan: &Plan,
    routes: &Routes,
    settled: &[bool],
    limit: Duration,
    me: usize,
    waiting: usize,
) -> Error {
    let mut message = format!(
        "delayed::mpi: watchdog: the compute ran longer than its limit of {limit:?} \
         (ComputeOptions::timeout, or DELAYED_MPI_TIMEOUT in seconds); rank {me} "
    );
    let awaited = (0..plan.len()).find(|&k| routes.source[k] != u32::MAX && !settled[k]);
    match awaited {
        Some(k) => {
            let id = plan.node_id(k as u32);
            message += &format!(
                "still waits for {waiting} value(s) from other ranks, such as the output of task \
                 '{}' (key {id}) from rank {}",
                store.name(id),
                routes.source[k]
            );
        }
        None => message += "still runs its own tasks",
    }
    Error::cluster(message)
}
