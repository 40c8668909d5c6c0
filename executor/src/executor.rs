//! The `Executor` handle.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use crate::builder::ExecutorBuilder;
use crate::error::BuildError;
use crate::job::{HeapJob, JobRef};
use crate::join::join_on_worker;
use crate::registry::Registry;
use crate::scope::Scope;
use crate::stats::Stats;
use crate::worker::WorkerThread;

/// A work-stealing thread pool whose workers are pinned one per CPU.
///
/// `Executor` is a cheap handle (`Clone + Send + Sync`); when the last handle
/// is dropped, the workers finish what is queued and are joined.
///
/// # Examples
///
/// ```
/// use delayed_executor::Executor;
///
/// let ex = Executor::builder().workers(2).build()?;
/// let (a, b) = ex.join(|| 1 + 1, || 2 + 2);
/// assert_eq!((a, b), (2, 4));
///
/// let words = vec!["borrowed", "from", "the", "caller"];
/// let mut lens = vec![0; words.len()];
/// ex.scope(|s| {
///     for (w, len) in words.iter().zip(lens.iter_mut()) {
///         s.spawn(move |_| *len = w.len());
///     }
/// });
/// assert_eq!(lens, [8, 4, 3, 6]);
/// # Ok::<(), delayed_executor::BuildError>(())
/// ```
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

/// Owns the worker threads; its drop is the pool's shutdown.
struct Inner {
    registry: Arc<Registry>,
    threads: Vec<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.registry.terminate();
        let on_own_worker =
            WorkerThread::current().is_some_and(|w| std::ptr::eq(w.registry(), &*self.registry));
        // The last handle dropped by one of our own jobs cannot join its own
        // thread: the workers still exit once the queues are empty.
        if !on_own_worker {
            for handle in self.threads.drain(..) {
                let _ = handle.join();
            }
        }
    }
}

impl Executor {
    /// A builder; without `workers(n)` the count is `DELAYED_NUM_WORKERS` if
    /// set, else the smallest of the CPUs in the process's affinity mask,
    /// `SLURM_CPUS_PER_TASK` and the cgroup CPU quota.
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = delayed_executor::Executor::builder().build().unwrap();
    /// assert!(ex.workers() >= 1);
    /// ```
    pub fn builder() -> ExecutorBuilder {
        ExecutorBuilder::new()
    }

    pub(crate) fn from_parts(registry: Arc<Registry>, threads: Vec<JoinHandle<()>>) -> Self {
        Executor {
            inner: Arc::new(Inner { registry, threads }),
        }
    }

    /// The process-wide default executor, built on first use with the
    /// default worker count.
    ///
    /// # Errors
    ///
    /// If the environment gives a malformed worker count (the same error on
    /// every call).
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = delayed_executor::Executor::global()?;
    /// assert_eq!(ex.join(|| 1, || 2), (1, 2));
    /// # Ok::<(), delayed_executor::BuildError>(())
    /// ```
    pub fn global() -> Result<&'static Executor, BuildError> {
        static GLOBAL: OnceLock<Result<Executor, BuildError>> = OnceLock::new();
        GLOBAL
            .get_or_init(|| Executor::builder().build())
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The number of worker threads.
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = delayed_executor::Executor::builder().workers(3).build().unwrap();
    /// assert_eq!(ex.workers(), 3);
    /// ```
    pub fn workers(&self) -> usize {
        self.inner.registry.workers()
    }

    /// The CPUs of the process's affinity mask when the executor was built
    /// (what `taskset` or `srun --cpus-per-task` granted); worker `i` is
    /// pinned to `cpus()[i % cpus().len()]` when pinning is on.
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = delayed_executor::Executor::builder().workers(1).build().unwrap();
    /// assert!(!ex.cpus().is_empty());
    /// ```
    pub fn cpus(&self) -> &[usize] {
        &self.inner.registry.cpus
    }

    /// Runs `f` on some worker, later. A panic in `f` goes to the
    /// [`panic_handler`](ExecutorBuilder::panic_handler), if any; the pool
    /// keeps working either way.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    ///
    /// let ex = delayed_executor::Executor::builder().workers(2).build().unwrap();
    /// let (tx, rx) = mpsc::channel();
    /// ex.spawn(move || tx.send(6 * 7).unwrap());
    /// assert_eq!(rx.recv().unwrap(), 42);
    /// ```
    pub fn spawn<F>(&self, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        let registry = Arc::clone(&self.inner.registry);
        let job = move || {
            if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(f)) {
                match &registry.panic_handler {
                    // A panicking handler must not unwind into the worker.
                    Some(handler) => {
                        if let Err(again) =
                            panic::catch_unwind(AssertUnwindSafe(|| handler(payload)))
                        {
                            crate::unwind::drop_payload(again);
                        }
                    }
                    None => crate::unwind::drop_payload(payload),
                }
            }
        };
        // SAFETY: `job` is 'static and catches every panic.
        let job_ref = unsafe { HeapJob::into_job_ref(job) };
        self.inner.registry.push(job_ref);
    }

    /// Runs `f` with a [`Scope`] whose jobs may borrow from the caller;
    /// returns when `f` and every job spawned in the scope have finished.
    /// The first panic (of `f`, else of a job) is raised again here.
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = delayed_executor::Executor::builder().workers(2).build().unwrap();
    /// let data = vec![1, 2, 3, 4];
    /// let mut sums = [0; 2];
    /// let (left, right) = sums.split_at_mut(1);
    /// ex.scope(|s| {
    ///     s.spawn(|_| left[0] = data[..2].iter().sum());
    ///     s.spawn(|_| right[0] = data[2..].iter().sum());
    /// });
    /// assert_eq!(sums, [3, 7]);
    /// ```
    pub fn scope<'scope, F, R>(&self, f: F) -> R
    where
        F: FnOnce(&Scope<'scope>) -> R + Send,
        R: Send,
    {
        let registry = &self.inner.registry;
        registry.in_worker(|_worker| {
            let scope = Scope::new(Arc::clone(registry));
            let body = panic::catch_unwind(AssertUnwindSafe(|| f(&scope)));
            scope.complete(body)
        })
    }

    /// Runs `a` and `b`, potentially in parallel, and returns both results.
    /// A panic in either is raised again here, after both have finished.
    ///
    /// # Examples
    ///
    /// ```
    /// fn fib(ex: &delayed_executor::Executor, n: u64) -> u64 {
    ///     if n < 2 { return n; }
    ///     let (a, b) = ex.join(|| fib(ex, n - 1), || fib(ex, n - 2));
    ///     a + b
    /// }
    /// let ex = delayed_executor::Executor::builder().workers(2).build().unwrap();
    /// assert_eq!(fib(&ex, 20), 6765);
    /// ```
    pub fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        self.inner
            .registry
            .in_worker(|worker| join_on_worker(worker, a, b))
    }

    /// `Some(i)` when called on worker `i` of this executor, else `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = delayed_executor::Executor::builder().workers(1).build().unwrap();
    /// assert_eq!(ex.current_worker_index(), None);
    /// assert_eq!(ex.join(|| ex.current_worker_index(), || ()).0, Some(0));
    /// ```
    pub fn current_worker_index(&self) -> Option<usize> {
        WorkerThread::current()
            .filter(|w| std::ptr::eq(w.registry(), &*self.inner.registry))
            .map(WorkerThread::index)
    }

    /// Schedules a raw job: on the calling worker's own deque (LIFO) when
    /// called on a worker of this executor, else on the shared injector; a
    /// sleeping worker is woken if nobody is searching. This is what the
    /// `delayed` graph runner builds on: it allocates nothing.
    ///
    /// # Safety
    ///
    /// The contract of [`JobRef::new`]: the job's data stays valid until it
    /// has run, and it does not unwind. The job runs exactly once.
    ///
    /// # Examples
    ///
    /// See [`JobRef`].
    #[inline]
    pub unsafe fn push(&self, job: JobRef) {
        self.inner.registry.push(job);
    }

    /// Runs `f` while the idle workers of this executor call `poll`: a
    /// worker that finds no job calls it between rounds of its search, and
    /// whatever `poll` schedules from there ([`push`](Self::push),
    /// [`spawn`](Self::spawn)) lands on that worker's own deque, which it
    /// runs next. This is how an event source outside the pool (the
    /// multi-node layer of `delayed` polls MPI with it) gets its events
    /// handled by a thread that is awake anyway, with no hand-off.
    ///
    /// - `poll` returns whether it made progress. A worker keeps searching
    ///   and polling, yielding its CPU between polls, for 1 ms after it
    ///   began to search or `poll` last made progress; then it sleeps as
    ///   usual until a job wakes it, and polls no more meanwhile. Whoever
    ///   waits for events while all workers sleep must poll too.
    /// - One thread at a time calls `poll` (a worker that finds another
    ///   inside it does not wait), so it need not be re-entrant. It must not
    ///   block, nor call `with_idle_poll` on this executor.
    /// - When `with_idle_poll` returns, no worker is inside `poll` and none
    ///   will call it again.
    /// - If `poll` panics it is called no more, and the panic is raised
    ///   again here once `f` has returned.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// let ex = delayed_executor::Executor::builder().workers(1).build()?;
    /// let calls = AtomicUsize::new(0);
    /// let poll = || {
    ///     calls.fetch_add(1, Ordering::Relaxed);
    ///     false
    /// };
    /// ex.with_idle_poll(&poll, || {
    ///     // The worker runs this job, finds no other, and polls.
    ///     ex.spawn(|| {});
    ///     while calls.load(Ordering::Relaxed) == 0 {
    ///         std::thread::yield_now();
    ///     }
    /// });
    /// let after = calls.load(Ordering::Relaxed);
    /// std::thread::sleep(std::time::Duration::from_millis(5));
    /// assert_eq!(calls.load(Ordering::Relaxed), after, "not called after return");
    /// # Ok::<(), delayed_executor::BuildError>(())
    /// ```
    pub fn with_idle_poll<R>(&self, poll: &(dyn Fn() -> bool + Sync), f: impl FnOnce() -> R) -> R {
        /// Unlists the poll however `f` ends.
        struct Unlist<'a> {
            registry: &'a Registry,
            id: u64,
        }
        impl Drop for Unlist<'_> {
            fn drop(&mut self) {
                let panicked = self.registry.idle.unlist(self.id);
                if let Some(payload) = panicked {
                    if std::thread::panicking() {
                        // `f` panicked too: its panic goes on.
                        crate::unwind::drop_payload(payload);
                    } else {
                        panic::resume_unwind(payload);
                    }
                }
            }
        }
        let registry = &*self.inner.registry;
        // SAFETY: `poll` is borrowed for this whole call, and `Unlist`
        // unlists it before the call returns or unwinds.
        let id = unsafe { registry.idle.list(poll) };
        let _unlist = Unlist { registry, id };
        f()
    }

    /// A snapshot of the per-worker counters.
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = delayed_executor::Executor::builder().workers(2).build().unwrap();
    /// ex.scope(|s| for _ in 0..100 { s.spawn(|_| {}) });
    /// assert!(ex.stats().total().jobs >= 100);
    /// ```
    pub fn stats(&self) -> Stats {
        self.inner.registry.stats()
    }
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("workers", &self.workers())
            .field("cpus", &self.cpus())
            .finish()
    }
}

impl PartialEq for Executor {
    /// Two handles are equal when they refer to the same pool.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Executor {}
