//! The parallel runner: one job record per node, scheduled on the executor
//! without allocating, continuing inline along ready successors.
//!
//! The numbered steps referred to here are those of `README.md`.

use std::sync::atomic::{AtomicPtr, Ordering};

use delayed_executor::raw::{CountLatch, JobRef};
use delayed_executor::Executor;

use super::observer::Observer;
use super::state::RunState;
use super::zeroed::zeroed;

/// What every job of one run shares. Lives on the stack of the computing
/// thread, which does not return before every job has finished.
struct Parallel<'a, O> {
    state: &'a RunState<'a>,
    observer: &'a O,
    executor: &'a Executor,
    /// Counts jobs pushed and not finished (step 3); the computing thread
    /// waits for zero.
    active: CountLatch,
    /// The job records: what a `JobRef` points at. Record `k` is node `k`'s
    /// (its index is the node's local index), record `n` the seed's, which
    /// starts the run at its roots. A record holds a pointer to this
    /// `Parallel`, written just before its one push; the table starts zeroed,
    /// so it costs no pass over the nodes.
    jobs: Box<[AtomicPtr<()>]>,
}

/// Steps 3 to 7: runs every node of `state` on `executor` and returns when
/// all jobs have finished (also after a failure).
pub(crate) fn run<O: Observer>(state: &RunState<'_>, executor: &Executor, observer: &O) {
    let n = state.plan().len();
    let roots = state.plan().roots(state.store());
    // A plan of a non-empty target list has a root: a DAG has a source.
    debug_assert!(roots > 0);
    // The seed carries the count of root 0, which it runs itself; the other
    // roots are counted here, before the seed pushes them.
    let parallel = Parallel {
        state,
        observer,
        executor,
        active: CountLatch::new(roots),
        jobs: zeroed(n + 1),
    };
    parallel.push(n as u32);
    parallel.active.wait();
}

/// The entry point of every job.
///
/// # Safety
/// `data` is a job record of a `Parallel` whose run is still waiting for it.
unsafe fn execute<O: Observer>(data: *const ()) {
    // SAFETY: the caller's contract.
    let record = unsafe { &*data.cast::<AtomicPtr<()>>() };
    // Relaxed: the executor's push and pop order the write in `push` before.
    let parallel = record
        .load(Ordering::Relaxed)
        .cast_const()
        .cast::<Parallel<'_, O>>();
    // SAFETY: the pointer was written by `Parallel::push`, and the run waits
    // for this job (step 7), so the `Parallel` is alive.
    let parallel = unsafe { &*parallel };
    let offset = record as *const AtomicPtr<()> as usize - parallel.jobs.as_ptr() as usize;
    let index = (offset / size_of::<AtomicPtr<()>>()) as u32;
    if index as usize == parallel.state.plan().len() {
        parallel.seed();
    } else {
        parallel.run_from(index);
    }
    // Step 7: this job's last access to the run. Once the count reaches zero
    // the computing thread may return and free everything.
    parallel.active.decrement();
}

impl<O: Observer> Parallel<'_, O> {
    /// Step 3: pushes roots 1.. (already counted), then runs root 0 here.
    fn seed(&self) {
        let (plan, store) = (self.state.plan(), self.state.store());
        for i in 0..plan.roots(store) {
            self.observer.ready(plan.root(store, i));
        }
        for i in 1..plan.roots(store) {
            self.push(plan.root(store, i));
        }
        self.run_from(plan.root(store, 0));
    }

    /// Step 5 for one of several ready successors: counts it, then queues it
    /// on this worker's deque.
    fn spawn(&self, k: u32) {
        self.active.increment();
        self.push(k);
    }

    /// Queues job record `k`, already counted in `active`.
    fn push(&self, k: u32) {
        let record = &self.jobs[k as usize];
        // Relaxed: the push below publishes it to whoever runs the job.
        record.store(
            (self as *const Parallel<'_, O>).cast_mut().cast(),
            Ordering::Relaxed,
        );
        // SAFETY: the record and this `Parallel` outlive every job counted in
        // `active`, which `k` is (`run` waits for them); `execute` does not
        // unwind; each record is pushed once (a node is ready once).
        unsafe {
            let job = JobRef::new((record as *const AtomicPtr<()>).cast(), execute::<O>);
            self.executor.push(job);
        }
    }

    /// Steps 4 to 6 for local node `k` (ready), then for one ready successor
    /// after another: a loop, so a chain of any length runs in constant stack.
    fn run_from(&self, mut k: u32) {
        let state = self.state;
        loop {
            self.observer.start(k);
            // SAFETY: `k` is ready: its last input was counted with an
            // Acquire (or it is a root), so its inputs are stored and
            // visible; it is run once, by whoever counted that last input.
            let ok = unsafe { state.execute(k) };
            self.observer.end(k, ok);
            if !ok {
                return;
            }
            let mut next = None;
            for successor in state.successors(k) {
                if state.input_done(successor) {
                    self.observer.ready(successor);
                    state.prefetch(successor);
                    // Continue with the oldest ready successor (the
                    // smallest index: nearest in memory to what just ran,
                    // e.g. the next cell of a wavefront's row), push the rest.
                    match next {
                        Some(kept) if kept < successor => self.spawn(successor),
                        Some(kept) => {
                            self.spawn(kept);
                            next = Some(successor);
                        }
                        None => next = Some(successor),
                    }
                } else {
                    state.prefetch(successor);
                }
            }
            state.release_inputs(k);
            match next {
                Some(successor) => k = successor,
                None => return,
            }
        }
    }
}
