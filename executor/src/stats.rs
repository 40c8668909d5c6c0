//! Per-worker counters, cheap enough to stay on: each is written only by its
//! own worker (a relaxed load and store, no read-modify-write) on a cache line
//! of its own.

use crossbeam_utils::CachePadded;

use crate::sync::{AtomicU64, Ordering};

/// The live counters of one worker.
#[derive(Default)]
pub(crate) struct WorkerCounters {
    jobs: AtomicU64,
    steals: AtomicU64,
    failed_steals: AtomicU64,
    sleeps: AtomicU64,
}

/// Which counter to bump.
#[derive(Clone, Copy)]
pub(crate) enum Counter {
    Jobs,
    Steals,
    FailedSteals,
    Sleeps,
}

impl WorkerCounters {
    pub(crate) fn padded() -> CachePadded<WorkerCounters> {
        CachePadded::new(WorkerCounters::default())
    }

    /// Adds one. Only the owning worker calls this, so a load and a store
    /// lose nothing.
    #[inline]
    pub(crate) fn bump(&self, counter: Counter) {
        let cell = match counter {
            Counter::Jobs => &self.jobs,
            Counter::Steals => &self.steals,
            Counter::FailedSteals => &self.failed_steals,
            Counter::Sleeps => &self.sleeps,
        };
        cell.store(cell.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    fn snapshot(&self, cpu: Option<usize>) -> WorkerStats {
        WorkerStats {
            jobs: self.jobs.load(Ordering::Relaxed),
            steals: self.steals.load(Ordering::Relaxed),
            failed_steals: self.failed_steals.load(Ordering::Relaxed),
            sleeps: self.sleeps.load(Ordering::Relaxed),
            cpu,
        }
    }
}

/// What one worker has done since the executor was built.
///
/// # Examples
///
/// ```
/// let ex = delayed_executor::Executor::builder().workers(1).build().unwrap();
/// ex.scope(|s| s.spawn(|_| {}));
/// let worker = &ex.stats().workers[0];
/// assert!(worker.jobs >= 1);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Jobs this worker ran (including ones it stole).
    pub jobs: u64,
    /// Successful steals from other workers' deques.
    pub steals: u64,
    /// Rounds over every other worker's deque that found nothing.
    pub failed_steals: u64,
    /// Times this worker went to sleep.
    pub sleeps: u64,
    /// The CPU this worker is pinned to, if pinning is on and succeeded.
    pub cpu: Option<usize>,
}

/// A snapshot of every worker's counters.
///
/// # Examples
///
/// ```
/// let ex = delayed_executor::Executor::builder().workers(2).build().unwrap();
/// ex.join(|| 1, || 2);
/// let stats = ex.stats();
/// assert_eq!(stats.workers.len(), 2);
/// assert!(stats.total().jobs >= 1);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// One entry per worker, by worker index.
    pub workers: Vec<WorkerStats>,
}

impl Stats {
    pub(crate) fn collect<'a>(
        counters: impl Iterator<Item = &'a WorkerCounters>,
        cpus: &[Option<usize>],
    ) -> Stats {
        Stats {
            workers: counters
                .zip(cpus)
                .map(|(c, &cpu)| c.snapshot(cpu))
                .collect(),
        }
    }

    /// The sum over all workers (`cpu` is `None`).
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = delayed_executor::Executor::builder().workers(2).build().unwrap();
    /// ex.scope(|s| for _ in 0..10 { s.spawn(|_| {}) });
    /// assert!(ex.stats().total().jobs >= 10);
    /// ```
    pub fn total(&self) -> WorkerStats {
        self.workers
            .iter()
            .fold(WorkerStats::default(), |t, w| WorkerStats {
                jobs: t.jobs + w.jobs,
                steals: t.steals + w.steals,
                failed_steals: t.failed_steals + w.failed_steals,
                sleeps: t.sleeps + w.sleeps,
                cpu: None,
            })
    }
}
