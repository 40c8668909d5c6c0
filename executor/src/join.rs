//! `join(a, b)`: run two closures, potentially in parallel.
//!
//! `b` is pushed on the worker's own deque where a thief may take it; `a`
//! runs at once. Then the worker pops `b` back and runs it inline if nobody
//! stole it, or runs other jobs until the thief has finished it.

use std::panic::{self, AssertUnwindSafe};

use crate::job::StackJob;
use crate::latch::{Probe, SpinLatch};
use crate::worker::WorkerThread;

#[inline]
pub(crate) fn join_on_worker<A, B, RA, RB>(worker: &WorkerThread, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let job_b = StackJob::new(b, SpinLatch::new(worker));
    // SAFETY: `job_b` does not move and this frame is not left until the job
    // has run: every path below either takes it back (`run_inline`) or
    // waits for its latch, also when `a` panics.
    let job_b_ref = unsafe { job_b.as_job_ref() };
    worker.push(job_b_ref);

    let result_a = match panic::catch_unwind(AssertUnwindSafe(a)) {
        Ok(value) => value,
        Err(payload) => {
            // `b` may be running elsewhere and borrows this frame: wait for
            // it (running it ourselves if it is still in our deque).
            worker.wait_until(&job_b.latch);
            panic::resume_unwind(payload);
        }
    };

    while !job_b.latch.probe() {
        match worker.pop() {
            Some(job) if job == job_b_ref => {
                // Nobody stole `b`: run it here, without the latch.
                return (result_a, job_b.run_inline());
            }
            // Something `a` left behind (a raw job of a graph run): run it.
            Some(job) => worker.execute(job),
            None => {
                worker.wait_until(&job_b.latch);
                break;
            }
        }
    }
    (result_a, job_b.into_result())
}
