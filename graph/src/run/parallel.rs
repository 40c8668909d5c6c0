//! The parallel runner: one job record per node, scheduled on the executor
//! without allocating, continuing inline along ready successors.
//!
//! The numbered steps referred to here are those of `README.md`.

use std::sync::OnceLock;

use delayed_executor::raw::{CountLatch, JobRef};
use delayed_executor::Executor;

use super::state::RunState;

/// What every job of one run shares. Lives on the stack of the computing
/// thread, which does not return before every job has finished.
struct Parallel<'a> {
    state: &'a RunState<'a>,
    executor: &'a Executor,
    /// Counts jobs pushed and not finished (step 3); the computing thread
    /// waits for zero.
    active: CountLatch,
    /// One job record per local node, then the seed; set once before the
    /// first push.
    jobs: OnceLock<&'a [Job<'a>]>,
}

/// A job record: what a `JobRef` points at. Its index in the job table is
/// its node's local index; index `n` (one past the last node) is the seed,
/// which starts the run at its roots. One pointer, so the table costs 8
/// bytes per node.
struct Job<'a> {
    parallel: &'a Parallel<'a>,
}

/// Steps 3 to 7: runs every node of `state` on `executor` and returns when
/// all jobs have finished (also after a failure).
pub(crate) fn run(state: &RunState<'_>, executor: &Executor) {
    let plan = state.plan();
    let roots = plan.roots().len();
    // A plan of a non-empty target list has a root: a DAG has a source.
    debug_assert!(roots > 0);
    // The seed carries the count of root 0, which it runs itself; the other
    // roots are counted here, before the seed pushes them.
    let parallel = Parallel {
        state,
        executor,
        active: CountLatch::new(roots),
        jobs: OnceLock::new(),
    };
    let n = plan.len() as u32;
    let jobs: Box<[Job<'_>]> = (0..=n)
        .map(|_| Job {
            parallel: &parallel,
        })
        .collect();
    if parallel.jobs.set(&jobs).is_err() {
        unreachable!("the job table is set once");
    }
    // SAFETY: the seed's record lives in `jobs` until this function returns,
    // which is after `wait`, which returns after every job counted in
    // `active` has run to its end (step 7); `execute` does not unwind.
    unsafe { executor.push(jobs[n as usize].job_ref()) };
    parallel.active.wait();
}

impl<'a> Job<'a> {
    fn job_ref(&self) -> JobRef {
        // SAFETY: `execute` receives this pointer back and reads it as a
        // `Job`; the record outlives the job (see `run`).
        unsafe { JobRef::new((self as *const Job<'a>).cast::<()>(), execute) }
    }
}

/// The entry point of every job.
///
/// # Safety
/// `data` is a `Job` made by `Job::job_ref` whose run is still waiting for it.
unsafe fn execute(data: *const ()) {
    // SAFETY: the caller's contract.
    let job = unsafe { &*data.cast::<Job<'_>>() };
    let parallel = job.parallel;
    let index = parallel.index_of(job);
    if index as usize == parallel.state.plan().len() {
        parallel.seed();
    } else {
        parallel.run_from(index);
    }
    // Step 7: this job's last access to the run. Once the count reaches zero
    // the computing thread may return and free everything.
    parallel.active.decrement();
}

impl<'a> Parallel<'a> {
    fn jobs(&self) -> &'a [Job<'a>] {
        self.jobs
            .get()
            .expect("the job table is set before the first push")
    }

    /// The index of `job` in the job table.
    fn index_of(&self, job: &Job<'_>) -> u32 {
        let offset = job as *const Job<'_> as usize - self.jobs().as_ptr() as usize;
        (offset / size_of::<Job<'_>>()) as u32
    }

    /// Step 3: pushes roots 1.. (already counted), then runs root 0 here.
    fn seed(&self) {
        let roots = self.state.plan().roots();
        for &root in &roots[1..] {
            self.push(root);
        }
        self.run_from(roots[0]);
    }

    /// Step 5 for one of several ready successors: counts it, then queues it
    /// on this worker's deque.
    fn spawn(&self, k: u32) {
        self.active.increment();
        self.push(k);
    }

    fn push(&self, k: u32) {
        // SAFETY: `jobs` outlives every job counted in `active` (see `run`),
        // and `k` was counted before this push; `execute` does not unwind.
        unsafe { self.executor.push(self.jobs()[k as usize].job_ref()) };
    }

    /// Steps 4 to 6 for local node `k` (ready), then for one ready successor
    /// after another: a loop, so a chain of any length runs in constant stack.
    fn run_from(&self, mut k: u32) {
        let state = self.state;
        loop {
            // SAFETY: `k` is ready: its pending count reached zero with an
            // Acquire decrement (or it is a root), so its inputs are stored
            // and visible; it is run once, by whoever made that decrement.
            if !unsafe { state.execute(k) } {
                return;
            }
            let mut next = None;
            for &successor in state.plan().successors(k) {
                if state.input_done(successor) {
                    if next.is_none() {
                        next = Some(successor);
                    } else {
                        self.spawn(successor);
                    }
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
