//! The state shared by all workers of one executor: the stealers of their
//! deques, the injector for work from outside, the sleep state, counters.

use std::any::Any;
use std::sync::Arc;

use crossbeam_deque::{Injector, Stealer};
use crossbeam_utils::CachePadded;

use crate::idle_poll::IdlePolls;
use crate::job::JobRef;
use crate::sleep::Sleep;
use crate::stats::{Stats, WorkerCounters};
use crate::sync::{AtomicBool, AtomicUsize, Ordering};
use crate::worker::WorkerThread;

/// What to do with the panic of a `spawn`ed job.
pub(crate) type PanicHandler = dyn Fn(Box<dyn Any + Send>) + Send + Sync;

/// Marks a worker that is not pinned in [`Registry::pinned`].
const NOT_PINNED: usize = usize::MAX;

pub(crate) struct Registry {
    pub(crate) stealers: Box<[Stealer<JobRef>]>,
    pub(crate) injector: Injector<JobRef>,
    pub(crate) sleep: Sleep,
    /// What idle workers poll besides the queues (`Executor::with_idle_poll`).
    pub(crate) idle: IdlePolls,
    /// Set once, when the last `Executor` handle is dropped. Workers then
    /// finish what is queued and exit.
    terminating: AtomicBool,
    pub(crate) counters: Box<[CachePadded<WorkerCounters>]>,
    /// The CPU each worker pinned itself to (`NOT_PINNED` if none).
    pinned: Box<[AtomicUsize]>,
    /// The process's affinity mask, as read when the executor was built.
    pub(crate) cpus: Vec<usize>,
    pub(crate) panic_handler: Option<Arc<PanicHandler>>,
}

impl Registry {
    pub(crate) fn new(
        stealers: Vec<Stealer<JobRef>>,
        cpus: Vec<usize>,
        panic_handler: Option<Arc<PanicHandler>>,
    ) -> Self {
        let n = stealers.len();
        Registry {
            stealers: stealers.into_boxed_slice(),
            injector: Injector::new(),
            sleep: Sleep::new(n),
            idle: IdlePolls::new(),
            terminating: AtomicBool::new(false),
            counters: (0..n).map(|_| WorkerCounters::padded()).collect(),
            pinned: (0..n).map(|_| AtomicUsize::new(NOT_PINNED)).collect(),
            cpus,
            panic_handler,
        }
    }

    pub(crate) fn workers(&self) -> usize {
        self.stealers.len()
    }

    /// Schedules `job`: on the calling worker's own deque if it belongs to
    /// this registry, else on the injector; then wakes a sleeper if needed.
    #[inline]
    pub(crate) fn push(&self, job: JobRef) {
        match WorkerThread::current() {
            Some(worker) if std::ptr::eq(worker.registry(), self) => worker.push(job),
            _ => self.inject(job),
        }
    }

    /// Schedules `job` from outside the pool.
    pub(crate) fn inject(&self, job: JobRef) {
        self.injector.push(job);
        self.sleep.notify();
    }

    /// Whether any queue holds a job (the re-scan of the sleep protocol, S3).
    pub(crate) fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|s| !s.is_empty())
    }

    pub(crate) fn is_terminating(&self) -> bool {
        // SeqCst: pairs with the store in `terminate`; read in the sleep
        // re-scan, whose ordering against the store W1-style needs SeqCst.
        self.terminating.load(Ordering::SeqCst)
    }

    /// Tells the workers to finish what is queued and exit.
    pub(crate) fn terminate(&self) {
        // SeqCst: pairs with the load in `is_terminating`.
        self.terminating.store(true, Ordering::SeqCst);
        self.sleep.wake_all();
    }

    pub(crate) fn record_pin(&self, index: usize, cpu: usize) {
        self.pinned[index].store(cpu, Ordering::Relaxed);
    }

    pub(crate) fn stats(&self) -> Stats {
        let cpus: Vec<Option<usize>> = self
            .pinned
            .iter()
            .map(|p| Some(p.load(Ordering::Relaxed)).filter(|&c| c != NOT_PINNED))
            .collect();
        Stats::collect(self.counters.iter().map(|c| &**c), &cpus)
    }
}

impl Registry {
    /// Runs `op` on a worker of this registry: directly if the calling thread
    /// is one, else as a job injected into the pool while the caller waits
    /// (a worker of another executor keeps running its own jobs meanwhile).
    #[inline]
    pub(crate) fn in_worker<OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce(&WorkerThread) -> R + Send,
        R: Send,
    {
        match WorkerThread::current() {
            Some(worker) if std::ptr::eq(worker.registry(), self) => op(worker),
            _ => self.in_worker_cold(op),
        }
    }

    #[cold]
    fn in_worker_cold<OP, R>(&self, op: OP) -> R
    where
        OP: FnOnce(&WorkerThread) -> R + Send,
        R: Send,
    {
        use crate::job::StackJob;
        use crate::latch::WaiterLatch;

        let job = StackJob::new(
            || {
                let worker = WorkerThread::current().expect("injected job runs on a worker");
                op(worker)
            },
            WaiterLatch::for_current_thread(),
        );
        // SAFETY: `job` stays in this frame until its latch is set below.
        self.inject(unsafe { job.as_job_ref() });
        job.latch.wait();
        job.into_result()
    }
}
