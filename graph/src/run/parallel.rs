//! The parallel runner: one job record per node, scheduled on the executor
//! without allocating, continuing inline along ready successors; the roots
//! handed out in ranges that split in halves.
//!
//! The numbered steps referred to here are those of `README.md`.

use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

use crossbeam_utils::CachePadded;
use delayed_executor::raw::{CountLatch, JobRef};
use delayed_executor::Executor;

use super::job_state::{Deferred, Kept};
use super::observer::Observer;
use super::plan::Successors;
use super::state::RunState;
use super::stream::{worth_streaming, Stream};
use crate::store::{prefetch, zeroed, Node, NodeState, Value, Zeroable};

/// What every job of one run shares. Lives on the stack of the computing
/// thread, which does not return before every job has finished.
struct Parallel<'a, O> {
    state: &'a RunState<'a>,
    observer: &'a O,
    executor: &'a Executor,
    /// Counts jobs pushed and not finished (step 3); the computing thread
    /// waits for zero. On its own cache line: every worker writes it, and
    /// sharing a line with the fields every worker reads (`state`,
    /// `ranges`, ...) made each count a cache miss for the other workers (random
    /// DAGs on 2 workers ran at 70 or 140 ns per task depending on where
    /// the run's stack frame happened to fall).
    active: CachePadded<CountLatch>,
    /// The job records of delivered external nodes (`Remote::deliver`),
    /// handed out in the order they come. A node's own job needs no record
    /// of its own: its `JobRef` points at its run record, whose empty slot
    /// holds a pointer to this `Parallel` until the job runs (`push`).
    delivered: Box<[DeliveredRecord]>,
    /// The next free record of `delivered`.
    next_delivered: AtomicU32,
    /// The root-range job records, numbered as a binary heap: range 0 is
    /// every root, and range `r` splits into `2r + 1` (kept) and `2r + 2`
    /// (pushed). Sized for the deepest split (`split_depth`).
    ranges: Box<[RangeRecord]>,
    /// A range of at most this many roots runs them in turn, unsplit.
    grain: u32,
    /// Whether the executor has one worker: nobody can steal, so ready
    /// successors are kept on the job's own stack instead of the deque.
    solo: bool,
    /// The first node no job's `Stream` has claimed yet; `None` when the
    /// run does not stream (`stream::worth_streaming`).
    stream: Option<CachePadded<AtomicU32>>,
}

/// The job record of a delivered external node, whose slot already holds
/// its value.
struct DeliveredRecord {
    /// The `Parallel`, as in `RangeRecord::run`.
    run: AtomicPtr<()>,
    /// The node's local index.
    node: AtomicU32,
}

// SAFETY: a null pointer and zero are valid atomics.
unsafe impl Zeroable for DeliveredRecord {}

/// A successor with more inputs than this left is *shared*: its input
/// counts are deferred (`Deferred`).
const SHARED: u32 = 64;

/// A pushed range of roots, `start..end` in the plan's root order.
struct RangeRecord {
    /// The `Parallel`, as in `Parallel::jobs`.
    run: AtomicPtr<()>,
    start: AtomicU32,
    end: AtomicU32,
}

// SAFETY: a null pointer and zeros are valid atomics.
unsafe impl Zeroable for RangeRecord {}

/// Ranges per worker that the roots are cut into at most: enough for idle
/// workers to find work to steal, few enough that a million roots are not
/// a million deque operations.
const RANGES_PER_WORKER: usize = 64;

/// How many times a range of `roots` roots halves before it has at most
/// `grain` roots (the larger half of an odd range has `len.div_ceil(2)`).
fn split_depth(mut roots: usize, grain: usize) -> u32 {
    let mut depth = 0;
    while roots > grain {
        roots = roots.div_ceil(2);
        depth += 1;
    }
    depth
}

/// Steps 3 to 7: runs every node of `state` on `executor` and returns when
/// all jobs have finished (also after a failure).
pub(crate) fn run<O: Observer>(state: &RunState<'_>, executor: &Executor, observer: &O) {
    run_driven(state, executor, observer, 0, false, |_| {});
}

/// `run` for a plan with `externals` external nodes, whose values come from
/// outside the run (another rank): the computing thread, after starting the
/// run, calls `drive`, which must deliver each external's value
/// (`Remote::deliver`) or give it up (`Remote::abandon`) before it returns
/// (with external nodes, it returns once `Remote::is_done`). Then waits for
/// the last jobs.
#[cfg(any(feature = "mpi", test))]
pub(crate) fn run_remote<O: Observer>(
    state: &RunState<'_>,
    executor: &Executor,
    observer: &O,
    externals: usize,
    drive: impl FnOnce(&Remote<'_, '_, O>),
) {
    // Unparking: the computing thread sleeps in `park_timeout` between its
    // polls (`mpi/driver.rs`), and the run's end wakes it.
    run_driven(state, executor, observer, externals, true, drive);
}

/// `run_remote`; with `unparking`, the end of the run also unparks the
/// computing thread (`CountLatch::new_unparking`).
fn run_driven<O: Observer>(
    state: &RunState<'_>,
    executor: &Executor,
    observer: &O,
    externals: usize,
    unparking: bool,
    drive: impl FnOnce(&Remote<'_, '_, O>),
) {
    let (plan, store) = (state.plan(), state.store());
    let roots = plan.roots(store);
    // A plan of a non-empty target list has a root: a DAG has a source. A
    // rank's part of a multi-node compute may have none, or no node at all
    // (then the first range is empty and its job ends at once).
    if O::ACTIVE {
        for i in 0..roots {
            observer.ready(plan.root(store, i));
        }
    }
    let grain = roots.div_ceil(executor.workers() * RANGES_PER_WORKER);
    let heap = (1usize << (split_depth(roots, grain) + 1)) - 1;
    // `active` counts the first range, pushed below, and each external
    // node until it is delivered (its job then takes over the count) or
    // abandoned.
    let parallel = Parallel {
        state,
        observer,
        executor,
        active: CachePadded::new(if unparking {
            CountLatch::new_unparking(1 + externals)
        } else {
            CountLatch::new(1 + externals)
        }),
        delivered: zeroed(externals),
        next_delivered: AtomicU32::new(0),
        ranges: zeroed(heap),
        grain: grain as u32,
        solo: executor.workers() == 1,
        stream: worth_streaming(plan, store).then(|| CachePadded::new(AtomicU32::new(0))),
    };
    parallel.push_range(0, 0, roots as u32);
    drive(&Remote {
        parallel: &parallel,
    });
    parallel.active.wait();
}

/// What the computing thread of a run with external nodes may do while the
/// run goes on (`run_remote`).
#[cfg_attr(not(feature = "mpi"), allow(dead_code))] // the multi-node layer
pub(crate) struct Remote<'p, 'a, O> {
    parallel: &'p Parallel<'a, O>,
}

#[cfg_attr(not(feature = "mpi"), allow(dead_code))] // the multi-node layer
impl<O: Observer> Remote<'_, '_, O> {
    /// The run's state: its cancel flag, failure and slots.
    pub(crate) fn state(&self) -> &RunState<'_> {
        self.parallel.state
    }

    /// Whether every job has finished and every external node was
    /// delivered or abandoned: the run is over.
    pub(crate) fn is_done(&self) -> bool {
        self.parallel.active.is_zero()
    }

    /// Stores `value` as the output of external node `k` and schedules the
    /// count of its successors (step 5), as if `k` had run here.
    ///
    /// # Safety
    /// `k` is an external node of the plan, neither delivered nor abandoned
    /// before, and `value` is of `k`'s output type.
    pub(crate) unsafe fn deliver(&self, k: u32, value: Value) {
        // SAFETY: nobody else touches an external node's slot before its
        // job is pushed (the caller's contract: delivered once), and the
        // value has the node's type.
        unsafe { self.parallel.state.put(k, value) };
        self.parallel.observer.ready(k);
        // Relaxed: each delivery takes its own record; the push below
        // publishes what is written to it.
        let i = self.parallel.next_delivered.fetch_add(1, Ordering::Relaxed);
        let record = &self.parallel.delivered[i as usize];
        record.node.store(k, Ordering::Relaxed);
        // SAFETY: `delivered_job` is the delivered records' entry point;
        // `k`'s share of `active` (counted at the start) passes to this job;
        // the record is pushed once (one per external node, and external
        // nodes have no inputs here, so they are never counted ready).
        unsafe {
            self.parallel.queue(
                &record.run,
                std::ptr::from_ref(record).cast(),
                delivered_job::<O>,
            )
        };
    }

    /// Gives up external node `k`'s value (the run is cancelled, and it will
    /// not come): releases its count, so the run can end. Its consumers
    /// never run.
    ///
    /// Call it at most once per external node, never after `deliver`.
    pub(crate) fn abandon(&self) {
        self.parallel.active.decrement();
    }
}

/// The entry point of every node's job.
///
/// # Safety
/// `data` is the run record of a node that `Parallel::<O>::push` queued, of
/// a run still waiting for the job.
unsafe fn node_job<O: Observer>(data: *const ()) {
    // SAFETY: the caller's contract.
    let node = unsafe { &*data.cast::<NodeState>() };
    // SAFETY: `push` stashed the run in the node's empty slot before
    // pushing this job (the executor's push and pop order the write before
    // this read), and nobody else touches the slot of a ready node that
    // has not run.
    let run = unsafe { node.slot().stashed() };
    // SAFETY: the pointer is a live `Parallel<O>`: the run waits for this
    // job (step 7).
    let parallel = unsafe { &*run.cast::<Parallel<'_, O>>() };
    let index = parallel.state.index_of(node);
    let mut deferred = Deferred::EMPTY;
    let mut stream = parallel.stream();
    parallel.run_from(index, &mut deferred, &mut stream);
    parallel.finish_deferred(&mut deferred, &mut stream);
    // Step 7: this job's last access to the run. Once the count reaches zero
    // the computing thread may return and free everything.
    parallel.active.decrement();
}

/// The entry point of the job of a delivered external node: counts its
/// successors and runs on from there.
///
/// # Safety
/// `data` is a delivered record that `Remote::deliver` pushed, of a run
/// still waiting for the job.
#[cfg_attr(not(feature = "mpi"), allow(dead_code))] // the multi-node layer
unsafe fn delivered_job<O: Observer>(data: *const ()) {
    // SAFETY: the caller's contract.
    let record = unsafe { &*data.cast::<DeliveredRecord>() };
    // SAFETY: `Remote::deliver` linked the record to its run, which waits
    // for this job.
    let parallel = unsafe { linked::<O>(&record.run) };
    // Relaxed: the executor's push and pop order the write in `deliver`.
    let index = record.node.load(Ordering::Relaxed);
    let mut deferred = Deferred::EMPTY;
    let mut stream = parallel.stream();
    parallel.run_delivered(index, &mut deferred, &mut stream);
    parallel.finish_deferred(&mut deferred, &mut stream);
    // Step 7, as in `node_job`.
    parallel.active.decrement();
}

/// The entry point of every root-range job.
///
/// # Safety
/// `data` is a range record of a `Parallel` whose run is still waiting for it.
unsafe fn range_job<O: Observer>(data: *const ()) {
    // SAFETY: the caller's contract.
    let record = unsafe { &*data.cast::<RangeRecord>() };
    // SAFETY: `Parallel::push_range` linked the record to its run, which
    // waits for this job.
    let parallel = unsafe { linked::<O>(&record.run) };
    let range = position(&parallel.ranges, record);
    // Relaxed: the executor's push and pop order the writes in
    // `push_range` before.
    let start = record.start.load(Ordering::Relaxed);
    let end = record.end.load(Ordering::Relaxed);
    parallel.run_roots(range, start, end);
    // Step 7, as in `node_job`.
    parallel.active.decrement();
}

/// The run a job record belongs to: the pointer `Parallel::queue` wrote.
///
/// # Safety
/// `run` was written by `Parallel::<O>::queue` of a run that still waits for
/// the job.
unsafe fn linked<'r, O: Observer>(run: &'r AtomicPtr<()>) -> &'r Parallel<'r, O> {
    // Relaxed: the executor's push and pop order the write in `queue` before.
    let parallel = run.load(Ordering::Relaxed).cast_const();
    // SAFETY: the caller's contract: the pointer is a live `Parallel<O>`
    // (the run waits for this job, step 7).
    unsafe { &*parallel.cast::<Parallel<'r, O>>() }
}

/// The index of `record` in `table`, where it lies.
fn position<T>(table: &[T], record: &T) -> usize {
    (std::ptr::from_ref(record) as usize - table.as_ptr() as usize) / size_of::<T>()
}

impl<'a, O: Observer> Parallel<'a, O> {
    /// Step 3: runs roots `start..end` (range `range` of the heap): halves
    /// the range, pushing the upper half, until at most `grain` roots are
    /// left, then runs those in turn. A worker thus starts at the lowest
    /// roots (nearest in memory to each other and, on trees, to their
    /// consumers), the deque holds a few ranges instead of a job per root,
    /// and thieves take the largest ranges, the oldest in the deque.
    fn run_roots(&self, mut range: usize, start: u32, mut end: u32) {
        while end - start > self.grain {
            let mid = start + (end - start) / 2;
            self.active.increment();
            self.push_range(2 * range + 2, mid, end);
            range = 2 * range + 1;
            end = mid;
        }
        let (plan, store) = (self.state.plan(), self.state.store());
        let mut deferred = Deferred::EMPTY;
        let mut stream = self.stream();
        for i in start..end {
            self.run_from(plan.root(store, i as usize), &mut deferred, &mut stream);
        }
        self.finish_deferred(&mut deferred, &mut stream);
    }

    /// A job's part of the run's `Stream`.
    fn stream(&self) -> Stream<'_> {
        Stream::new(self.stream.as_deref())
    }

    /// Counts the inputs this job deferred, and runs their node here if
    /// they were its last; again for what that run defers. Every job does
    /// this before it ends, so no count is lost.
    fn finish_deferred(&self, deferred: &mut Deferred, stream: &mut Stream<'_>) {
        while let Some(ready) = self.flush(deferred) {
            self.observer.ready(ready);
            self.run_from(ready, deferred, stream);
        }
    }

    /// Counts the inputs held in `deferred` (emptying it); the node, if they
    /// were its last.
    fn flush(&self, deferred: &mut Deferred) -> Option<u32> {
        let Deferred { node, count } = std::mem::replace(deferred, Deferred::EMPTY);
        (count > 0 && self.state.inputs_done(node, count)).then_some(node)
    }

    /// Step 5 for one out-edge `k → successor` of a node this thread ran:
    /// counts it, and returns `successor` if that was its last input. The
    /// count of a shared successor (`SHARED`) is deferred: kept in
    /// `deferred` and added up with this job's later inputs of the same
    /// node, then counted at once (`flush`), so that a million tasks feeding
    /// one sink do not each write its counter from two cores. Deferring a
    /// new node flushes the old one, which may then be ready: it is handed
    /// on (`hand_on`) at once.
    #[inline]
    fn count_input_or_hand_on(
        &self,
        successor: u32,
        deferred: &mut Deferred,
        kept: &mut Kept,
    ) -> bool {
        let state = self.state;
        if deferred.count > 0 && deferred.node == successor {
            deferred.count += 1;
            return false;
        }
        match state.pending(successor) {
            // The last input: no read-modify-write (`count_down`).
            1 => true,
            pending if pending > SHARED => {
                self.defer(successor, deferred, kept);
                false
            }
            // Not the last by that look: no second look before subtracting.
            _ if state.subtract_inputs(successor, 1) => true,
            _ => {
                state.prefetch(successor);
                false
            }
        }
    }

    /// `count_input_or_hand_on`'s rare case: defers an input of `successor`, flushing
    /// what `deferred` held before.
    #[cold]
    fn defer(&self, successor: u32, deferred: &mut Deferred, kept: &mut Kept) {
        if let Some(ready) = self.flush(deferred) {
            self.observer.ready(ready);
            self.hand_on(kept, ready);
        }
        *deferred = Deferred {
            node: successor,
            count: 1,
        };
    }

    /// Queues range record `range` for roots `start..end`, already counted
    /// in `active`.
    fn push_range(&self, range: usize, start: u32, end: u32) {
        let record = &self.ranges[range];
        // Relaxed: the push below publishes them to whoever runs the job.
        record.start.store(start, Ordering::Relaxed);
        record.end.store(end, Ordering::Relaxed);
        // SAFETY: `range_job` is a range record's entry point; the job is
        // counted in `active`; each range record is pushed once (a heap index
        // names one range).
        unsafe {
            self.queue(
                &record.run,
                std::ptr::from_ref(record).cast(),
                range_job::<O>,
            )
        };
    }

    /// Links a job record (whose run pointer is `run`) to this run, then
    /// pushes its job: `execute(data)`.
    ///
    /// # Safety
    /// `data` is the record holding `run`, in one of this run's tables;
    /// `execute` is that table's entry point (it does not unwind); the job
    /// is counted in `active`, and the record is pushed at most once.
    unsafe fn queue(&self, run: &AtomicPtr<()>, data: *const (), execute: unsafe fn(*const ())) {
        // Relaxed: the push below publishes it to whoever runs the job.
        run.store(
            std::ptr::from_ref(self).cast_mut().cast(),
            Ordering::Relaxed,
        );
        // SAFETY: the record and this `Parallel` outlive every job counted in
        // `active` (`run` waits for them); the rest is the caller's contract.
        unsafe { self.executor.push(JobRef::new(data, execute)) };
    }

    /// Step 5 for one of several ready successors: counts it, then queues it
    /// on this worker's deque.
    fn spawn(&self, k: u32) {
        self.active.increment();
        self.push(k);
    }

    /// Step 5 for a ready successor that does not continue on this thread:
    /// kept by this job on a one-worker executor, else spawned.
    fn hand_on(&self, kept: &mut Kept, successor: u32) {
        if !(self.solo && kept.push(successor)) {
            self.spawn(successor);
        }
    }

    /// Queues the job of ready node `k`, already counted in `active`: its
    /// `JobRef` points at `k`'s run record, whose empty slot holds this run
    /// until the job takes it back (`node_job`).
    fn push(&self, k: u32) {
        let node = self.state.node_state(k);
        // SAFETY: `k` is ready and has not run, so its slot is empty, and
        // only this thread, which made it ready, touches it until the push
        // below hands it to the job.
        unsafe { node.slot().stash(std::ptr::from_ref(self).cast()) };
        // SAFETY: `node_job` is the run records' entry point (it does not
        // unwind); the record and this `Parallel` outlive every job counted
        // in `active` (`run` waits for them); `k` is counted; each node is
        // pushed once (a node is ready once).
        unsafe {
            self.executor
                .push(JobRef::new(std::ptr::from_ref(node).cast(), node_job::<O>))
        };
    }

    /// Steps 4 to 6 for local node `k` (ready), then for one ready successor
    /// after another: a loop, so a chain of any length runs in constant stack.
    ///
    /// On a one-worker executor the other ready successors stay on this
    /// job's own stack (up to `KEPT`), last in first out as the deque would
    /// run them, but without its push, pop and count (on random DAGs 40% of
    /// the nodes are such successors: 10% of the run). With more workers
    /// they go to the deque at once: a successor kept back while this
    /// thread runs a long task would leave an idle worker waiting.
    fn run_from(&self, k: u32, deferred: &mut Deferred, stream: &mut Stream<'_>) {
        let mut kept = Kept::new();
        self.run_on((k, self.state.record(k)), &mut kept, deferred, stream);
    }

    /// Step 5 onwards for external node `k`, whose value was just
    /// delivered: counts its successors, then runs on as `run_from` does.
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))] // the multi-node layer
    fn run_delivered(&self, k: u32, deferred: &mut Deferred, stream: &mut Stream<'_>) {
        let mut kept = Kept::new();
        let view = self.state.view(k);
        if let Some(next) = self.count_successors(view.successors, deferred, &mut kept) {
            self.run_on(next, &mut kept, deferred, stream);
        } else if let Some(next) = kept.pop() {
            self.run_on((next, self.state.record(next)), &mut kept, deferred, stream);
        }
    }

    /// `run_from`'s loop, from ready local node `k` with its record (as
    /// `count_successors` returns them), with the successors kept so far.
    fn run_on(
        &self,
        (mut k, mut record): (u32, &'a Node),
        kept: &mut Kept,
        deferred: &mut Deferred,
        stream: &mut Stream<'_>,
    ) {
        let state = self.state;
        loop {
            stream.reach(state, k);
            self.observer.start(k);
            let view = state.view_of(k, record);
            // SAFETY: `k` is ready: its last input was counted with an
            // Acquire (or it is a root), so its inputs are stored and
            // visible; it is run once, by whoever counted that last input.
            let ok = unsafe { state.run_task(k, view.id, view.task, view.inputs) };
            self.observer.end(k, ok);
            if !ok || (O::EXPORTS && !state.export(k, view.task, self.observer)) {
                return;
            }
            let (inputs, to_drop) = (view.inputs, view.inputs_to_drop);
            let next = self.count_successors(view.successors, deferred, kept);
            state.release_inputs(view.task, inputs, to_drop);
            // The successor to continue with comes with its record, located
            // once to prefetch it (a chain's task located it twice: 16 of
            // its 212 instructions).
            (k, record) = match next {
                Some(next) => next,
                None => match kept.pop() {
                    Some(successor) => (successor, state.record(successor)),
                    None => return,
                },
            };
        }
    }

    /// Step 5 for every out-edge of a node this thread ran (or received):
    /// returns the ready successor to continue with, the oldest, with its
    /// record (prefetched); the others are handed on.
    #[inline(always)]
    fn count_successors(
        &self,
        successors: Successors<'_>,
        deferred: &mut Deferred,
        kept: &mut Kept,
    ) -> Option<(u32, &'a Node)> {
        let mut next: Option<(u32, &'a Node)> = None;
        for successor in successors {
            if self.count_input_or_hand_on(successor, deferred, kept) {
                let ready = successor;
                self.observer.ready(ready);
                let record = self.state.record(ready);
                prefetch(record);
                // Continue with the oldest ready successor (the smallest
                // index: nearest in memory to what just ran, e.g. the next
                // cell of a wavefront's row), push the rest.
                match next {
                    Some((oldest, _)) if oldest < ready => self.hand_on(kept, ready),
                    Some((oldest, _)) => {
                        self.hand_on(kept, oldest);
                        next = Some((ready, record));
                    }
                    None => next = Some((ready, record)),
                }
            }
        }
        next
    }
}
