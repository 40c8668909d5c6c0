//! The exchange while a rank's part of a compute runs (steps 7 and 8 of
//! `README.md`): polls, made by idle workers and by the computing thread in
//! turn, send what the workers exported, several small values to one rank
//! in one message; receive and deliver the values this rank waits for; and
//! spread a failure to every rank. The computing thread also watches the
//! clock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::{Duration, Instant};

use super::arrivals::Arrivals;
use super::backoff::Backoff;
use super::comm::{Incoming, Sends, BATCH, FAIL, VALUE};
use super::exchange::{Exporter, Outbox, Routes};
use super::inbox::Inbox;
use super::run_buffers::RunBuffers;
use super::wire::Wire;
use super::Cluster;
use crate::run::{Observer, Plan, Remote, RunState};
use crate::store::Store;
use crate::{Error, Executor};

/// What the computing thread knows at the end of the run.
pub(crate) struct Drive {
    /// The sends of the run, some maybe still in flight.
    pub(crate) sends: Sends,
    /// Messages received from each rank.
    pub(crate) received: Vec<u64>,
    /// The inbox's receive buffers, for the next compute.
    pub(crate) buffers: RunBuffers,
}

/// How long a cancelled run may take to end, after the watchdog fired,
/// before the job is aborted: a task stuck in user code never returns.
const ABORT_GRACE: Duration = Duration::from_secs(10);

// A worker's poll tests for a message once. It used to test up to 4 more
// times when it found none and sent nothing, so that a message arriving
// during the worker's next round of search would not wait for it: on an
// alternating chain of 20000 tasks across 2 ranks, that took a cross-rank
// edge from 1936 to 1594 ns when polls probed (`MPI_Improbe`). With the
// posted receive (`inbox.rs`) the extra tests no longer pay: the same
// chain, 7 alternated pairs of jobs, median 486 ns per edge with them and
// 457 without; on 4 oversubscribed ranks each empty test yields the CPU
// (`OMPI_MCA_mpi_yield_when_idle`), and Task Bench's tree at 1024
// iterations went 1.65 -> 1.43 times the hand-written floor's time per
// step (median of 7 alternated pairs).

/// Who makes a poll.
#[derive(Clone, Copy, PartialEq)]
enum Poller {
    /// An idle worker: a value it receives makes a job ready on its own
    /// deque, which it runs as soon as the poll returns. So it receives
    /// one message per poll, and a poll that received one returns at once,
    /// leaving completed sends to a later poll: each further MPI call
    /// (an empty test) is a trip through MPI's progress engine,
    /// which yields the CPU when nothing happened, between the value's
    /// arrival and its consumer's start.
    Worker,
    /// The computing thread: everything that arrived, every completed
    /// send.
    Computing,
}

/// What is fixed for one run, and what the loop has learnt so far.
struct Driver<'d, 'r, O> {
    remote: &'d Remote<'r, 'r, Exporter<'r, O>>,
    state: &'d RunState<'d>,
    outbox: &'d Outbox<'d>,
    store: &'d Store,
    plan: &'d Plan,
    routes: &'d Routes,
    me: usize,
    ranks: usize,
    /// Per local node: whether its value was delivered or given up.
    settled: Vec<bool>,
    /// External nodes neither delivered nor given up.
    waiting: usize,
    told_others: bool,
    cancelled_by_others: bool,
    /// The receives kept posted (`inbox.rs`).
    inbox: Inbox,
    /// Which local node an arriving value is.
    arrivals: Arrivals<'d>,
}

/// The loop (steps 7 and 8): returns once the run is over, every value sent
/// or on its way.
///
/// Two kinds of thread poll: the executor's idle workers, between rounds of
/// their search (`Executor::with_idle_poll`), so that a value arriving while
/// a worker is awake is received by it and its consumer runs there at once;
/// and this thread, with a backoff, for when every worker is busy or asleep,
/// and for the watchdog. A mutex makes them take turns (MPI is called by one
/// thread at a time).
#[allow(clippy::too_many_arguments)]
pub(crate) fn drive<O: Observer>(
    remote: &Remote<'_, '_, Exporter<'_, O>>,
    store: &Store,
    plan: &Plan,
    routes: &Routes,
    outbox: &Outbox<'_>,
    cluster: &Cluster,
    executor: &Executor,
    timeout: Option<Duration>,
    buffers: RunBuffers,
) -> Drive {
    let ranks = cluster.size();
    let driver = Mutex::new(Driver {
        remote,
        state: remote.state(),
        outbox,
        store,
        plan,
        routes,
        me: cluster.rank(),
        ranks,
        // Only external nodes are settled: none, nothing per node.
        settled: vec![false; if routes.externals > 0 { plan.len() } else { 0 }],
        waiting: routes.externals,
        told_others: false,
        cancelled_by_others: false,
        inbox: Inbox::new(ranks, buffers),
        arrivals: Arrivals::new(&routes.by_source),
    });
    outbox.set_poller(std::thread::current());
    // Whether a worker made (or tried) a poll since this thread last
    // looked. Relaxed: a hint, which only makes this thread skip a poll.
    let worker_polled = AtomicBool::new(false);
    let worker_poll = || {
        worker_polled.store(true, Ordering::Relaxed);
        driver.try_lock().is_ok_and(|mut d| d.poll(Poller::Worker))
    };
    executor.with_idle_poll(&worker_poll, || {
        let started = Instant::now();
        let mut watchdog_fired: Option<Instant> = None;
        let mut backoff = Backoff::sleeping();
        loop {
            // A worker polled since this thread last looked: the workers
            // are polling, so this thread's poll is not needed, and would
            // hold the wire while a worker's export wants it (an export
            // that cannot be sent at once waits in the outbox and wakes
            // this thread: with `OMPI_MCA_mpi_yield_when_idle=1`, whose
            // empty MPI calls yield the CPU, holding the wire longer,
            // that fed itself, on 2 ranks x 1 worker one export in 20).
            // A worker polling holds the driver: then this thread skips
            // its poll rather than wait (and have the worker wake it when
            // it unlocks, a system call between a value and its consumer).
            // What the poll found does not set the next sleep: waiting
            // exports do (below).
            //
            // Once the run is over, this thread polls once more, waiting
            // for the driver if a worker holds it: a cancelled run must
            // tell the other ranks (`Driver::cancel`), and no poll may have
            // seen the cancel yet (the failing task's worker went on to
            // end the run, and this thread skipped its poll because that
            // worker had polled before: on 3 ranks, 3 runs in 30 of a
            // failing compute hung, the others waiting for the value).
            if remote.is_done() {
                _ = lock(&driver).poll(Poller::Computing);
                break;
            }
            let workers_polled = worker_polled.swap(false, Ordering::Relaxed);
            if !workers_polled {
                match driver.try_lock() {
                    Ok(mut d) => _ = d.poll(Poller::Computing),
                    Err(TryLockError::Poisoned(poisoned)) => {
                        _ = poisoned.into_inner().poll(Poller::Computing);
                    }
                    Err(TryLockError::WouldBlock) => {}
                }
            }
            if let Some(limit) = timeout {
                match watchdog_fired {
                    None if started.elapsed() > limit => {
                        watchdog_fired = Some(Instant::now());
                        let error = lock(&driver).watchdog_error(limit);
                        remote.state().fail(error);
                    }
                    Some(fired) if fired.elapsed() > ABORT_GRACE => cluster.abort(&format!(
                        "rank {}: the watchdog fired after {limit:?} and the rank's tasks \
                         still run {ABORT_GRACE:?} later",
                        cluster.rank()
                    )),
                    _ => {}
                }
            }
            // Exports wait (this poll sent only some, or skipped because
            // a worker held the wire): poll again soon. Else sleep longer
            // each time, up to a millisecond, whatever this poll found:
            // the idle workers poll while values flow, and a thread waking
            // every 20 µs after each event took their cores (on 2 ranks x
            // 1 worker, Task Bench's METG fell by 15-45 % without it,
            // `results/taskbench/wake-check/`). An export into an empty
            // outbox wakes it (`Outbox::push`). While workers poll, twice
            // as long each time; while none does (all asleep or busy: this
            // thread may be the only one to see a value arrive), a share
            // of the time waited (`backoff.rs`). A share throughout woke
            // this thread 50 times in a run of 2.5 ms, against 7, each a
            // switch on a CPU a worker needed: on 2 ranks, Task Bench's
            // stencil_1d at 256 iterations took 1.68-2.00 times the
            // floor's time, 1.43-1.58 so.
            if outbox.may_hold_some() {
                backoff.event();
            } else if workers_polled {
                backoff.idle_while_others_poll();
            } else {
                backoff.idle();
            }
        }
    });
    let driver = driver.into_inner().unwrap_or_else(PoisonError::into_inner);
    // The last jobs' exports: every job ended, so all are in the outbox.
    let mut wire = outbox.wire();
    wire.flush(outbox, routes, |error| driver.state.fail(error));
    // Every poll is over: the posted receive is cancelled.
    let (received, buffers) = driver.inbox.close(outbox.comms().1);
    Drive {
        sends: std::mem::replace(&mut wire.sends, Sends::new(0, Vec::new())),
        received,
        buffers,
    }
}

/// The driver, for this thread: a poll that panicked (a bug: user code
/// runs under `catch_unwind`) does not stop the others.
fn lock<'m, T>(driver: &'m Mutex<T>) -> MutexGuard<'m, T> {
    driver.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<O: Observer> Driver<'_, '_, O> {
    /// One poll: sends what was exported, receives what arrived, spreads a
    /// cancel, and moves the sends in flight on; whether anything happened.
    /// Skipped if another thread holds the wire (a worker sending).
    fn poll(&mut self, poller: Poller) -> bool {
        let Some(mut wire) = self.outbox.try_wire() else {
            return false;
        };
        let state = self.state;
        let sent = wire.flush(self.outbox, self.routes, |error| state.fail(error));
        let received = self.receive(&wire, poller);
        if self.state.is_cancelled() {
            self.cancel(&mut wire);
        }
        if received && poller == Poller::Worker {
            return true;
        }
        sent | received | wire.sends.poll(64)
    }

    /// Receives the messages that have arrived (a worker: the first one);
    /// whether there was one. `_held`: the wire, which the caller holds
    /// (only its holder calls MPI).
    fn receive(&mut self, _held: &Wire, poller: Poller) -> bool {
        let mut any = false;
        let (comm, payloads) = self.outbox.comms();
        while let Some(Incoming { source, tag }) = self.inbox.try_next(comm, payloads) {
            any = true;
            // Taken out while they are read (`value` borrows `self`): the
            // buffer, not the inbox. Taking the inbox out, an empty one put
            // in its place, built and dropped one (its `Drop` closes it) at
            // every poll, about 3 % of a receiving worker's time on Task
            // Bench's tree (`perf`); an `Option` taken and put back moved
            // its 128 bytes twice, as slowly.
            let message = self.inbox.take_bytes();
            let bytes = &message[..];
            match tag {
                VALUE => self.value(source, bytes),
                BATCH => {
                    let mut rest = bytes;
                    while rest.len() >= 4 {
                        let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes"));
                        let end = 4 + len as usize;
                        self.value(source, &rest[4..end]);
                        rest = &rest[end..];
                    }
                }
                FAIL => {
                    self.cancelled_by_others = true;
                    self.state.cancel();
                }
                _ => self.state.fail(Error::cluster(format!(
                    "delayed::mpi: internal error: a message with tag {tag} from rank {source}"
                ))),
            }
            self.inbox.put_back(message);
            if poller == Poller::Worker {
                break;
            }
        }
        any
    }

    /// One value from `source`: the node id, then the encoded value.
    fn value(&mut self, source: usize, bytes: &[u8]) {
        let id = u32::from_le_bytes(bytes[..4].try_into().expect("a 4-byte header"));
        let plan = self.plan;
        let Some(k) = self.arrivals.find(|k| plan.node_id(k), source, id) else {
            self.state.fail(Error::cluster(format!(
                "delayed::mpi: internal error: rank {source} sent the output of task key {id}, \
                 which rank {} does not wait for",
                self.me
            )));
            return;
        };
        if self.settled[k as usize] {
            // Given up after a cancel: nothing reads it.
            return;
        }
        let codec = self.routes.codecs[k as usize];
        match codec.decode(&bytes[4..]) {
            Ok(value) => {
                self.settled[k as usize] = true;
                self.waiting -= 1;
                // SAFETY: `k` is an external node of the plan (it has a
                // source rank), settled now and never again, and its codec
                // made a value of its output type.
                unsafe { self.remote.deliver(k, value) };
            }
            Err(message) => self.state.fail(Error::cluster(format!(
                "delayed::mpi: the output of task '{}' (key {id}) from rank {source}: {message}",
                self.store.name(id)
            ))),
        }
    }

    /// Step 8: the run is cancelled. If this rank failed, every other rank
    /// is told (once); the values still awaited may never come, so they
    /// are given up and the run can end.
    fn cancel(&mut self, wire: &mut Wire) {
        if !self.cancelled_by_others && !self.told_others {
            let notice = Arc::new(Vec::new());
            let me = self.me;
            for rank in (0..self.ranks).filter(|&r| r != me) {
                if let Err(error) = wire.start(self.outbox.comms(), rank, FAIL, Arc::clone(&notice))
                {
                    self.state.fail(error);
                }
            }
            self.told_others = true;
        }
        if self.waiting == 0 {
            return;
        }
        for (k, settled) in self.settled.iter_mut().enumerate() {
            if self.routes.source(k as u32).is_some() && !*settled {
                *settled = true;
                self.waiting -= 1;
                self.remote.abandon();
            }
        }
    }

    /// The watchdog's failure: how long, and what this rank still waits for.
    fn watchdog_error(&self, limit: Duration) -> Error {
        let mut message = format!(
            "delayed::mpi: watchdog: the compute ran longer than its limit of {limit:?} \
             (ComputeOptions::timeout, or DELAYED_MPI_TIMEOUT in seconds); rank {} ",
            self.me
        );
        let awaited = (0..self.plan.len())
            .find(|&k| self.routes.source(k as u32).is_some() && !self.settled[k]);
        match awaited {
            Some(k) => {
                let id = self.plan.node_id(k as u32);
                message += &format!(
                    "still waits for {} value(s) from other ranks, such as the output of task \
                     '{}' (key {id}) from rank {}",
                    self.waiting,
                    self.store.name(id),
                    self.routes.source[k],
                );
            }
            None => message += "still runs its own tasks",
        }
        Error::cluster(message)
    }
}
