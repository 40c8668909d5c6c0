//! Configuring and starting an executor.

use std::any::Any;
use std::sync::Arc;

use crossbeam_deque::Worker;

use crate::error::{BuildError, BuildErrorKind};
use crate::executor::Executor;
use crate::job::JobRef;
use crate::registry::{PanicHandler, Registry};
use crate::worker::WorkerThread;
use crate::worker_count::{check_count, default_workers};

type ThreadName = Box<dyn FnMut(usize) -> String>;

/// Configures an [`Executor`]: worker count, pinning, thread names, stack
/// size, what to do with panics of spawned jobs.
///
/// # Examples
///
/// ```
/// use delayed_executor::Executor;
///
/// let ex = Executor::builder()
///     .workers(2)
///     .pin(false)
///     .thread_name(|i| format!("my-worker-{i}"))
///     .build()?;
/// assert_eq!(ex.workers(), 2);
/// # Ok::<(), delayed_executor::BuildError>(())
/// ```
#[must_use]
pub struct ExecutorBuilder {
    workers: Option<usize>,
    pin: bool,
    thread_name: Option<ThreadName>,
    stack_size: Option<usize>,
    panic_handler: Option<Arc<PanicHandler>>,
}

impl Default for ExecutorBuilder {
    fn default() -> Self {
        ExecutorBuilder {
            workers: None,
            pin: true,
            thread_name: None,
            stack_size: None,
            panic_handler: None,
        }
    }
}

impl ExecutorBuilder {
    /// A builder with the defaults: one worker per available CPU (see
    /// [`Executor::builder`]), pinned, named `delayed-worker-<i>`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of workers. Zero, or more than
    /// [`MAX_WORKERS`](crate::MAX_WORKERS), makes `build` fail. More workers
    /// than CPUs is allowed; pinning then wraps round-robin.
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = delayed_executor::Executor::builder().workers(4).build().unwrap();
    /// assert_eq!(ex.workers(), 4);
    /// ```
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = Some(n);
        self
    }

    /// Whether worker `i` pins itself to the `i`-th CPU of the process's
    /// affinity mask (default `true`).
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = delayed_executor::Executor::builder().workers(1).pin(false).build().unwrap();
    /// assert_eq!(ex.stats().workers[0].cpu, None);
    /// ```
    pub fn pin(mut self, pin: bool) -> Self {
        self.pin = pin;
        self
    }

    /// Names worker threads (`name(i)` for worker `i`).
    ///
    /// # Examples
    ///
    /// ```
    /// let ex = delayed_executor::Executor::builder()
    ///     .workers(1)
    ///     .thread_name(|i| format!("lesson-{i}"))
    ///     .build()
    ///     .unwrap();
    /// let name = ex.join(|| std::thread::current().name().map(String::from), || ()).0;
    /// assert_eq!(name.as_deref(), Some("lesson-0"));
    /// ```
    pub fn thread_name(mut self, name: impl FnMut(usize) -> String + 'static) -> Self {
        self.thread_name = Some(Box::new(name));
        self
    }

    /// The stack size of each worker thread, in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// // A stack the OS cannot give is an error, not a panic.
    /// let err = delayed_executor::Executor::builder()
    ///     .workers(1)
    ///     .stack_size(usize::MAX / 2)
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("could not start worker thread 0"));
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Called with the payload when a job started by
    /// [`Executor::spawn`] panics (by default the panic is only printed, by
    /// the panic hook, and the pool keeps working).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{mpsc, Mutex};
    ///
    /// let (tx, rx) = mpsc::channel();
    /// let tx = Mutex::new(tx);
    /// let ex = delayed_executor::Executor::builder()
    ///     .workers(1)
    ///     .panic_handler(move |_payload| tx.lock().unwrap().send(()).unwrap())
    ///     .build()
    ///     .unwrap();
    /// ex.spawn(|| panic!("boom"));
    /// rx.recv().unwrap();
    /// ```
    pub fn panic_handler(
        mut self,
        handler: impl Fn(Box<dyn Any + Send>) + Send + Sync + 'static,
    ) -> Self {
        self.panic_handler = Some(Arc::new(handler));
        self
    }

    /// Starts the workers.
    ///
    /// # Errors
    ///
    /// A zero or absurd worker count, a malformed `DELAYED_NUM_WORKERS` or
    /// `SLURM_CPUS_PER_TASK` (when the count is not given), or a worker
    /// thread the OS cannot start. Nothing is left running on error.
    pub fn build(mut self) -> Result<Executor, BuildError> {
        let n = match self.workers {
            Some(n) => check_count(n, "workers()")?,
            None => default_workers()?,
        };
        let cpus = crate::affinity::process_cpus().to_vec();
        let deques: Vec<Worker<JobRef>> = (0..n).map(|_| Worker::new_lifo()).collect();
        let stealers = deques.iter().map(Worker::stealer).collect();
        let registry = Arc::new(Registry::new(stealers, cpus, self.panic_handler.take()));

        let mut threads = Vec::with_capacity(n);
        for (index, deque) in deques.into_iter().enumerate() {
            let name = match &mut self.thread_name {
                Some(f) => f(index),
                None => format!("delayed-worker-{index}"),
            };
            let mut builder = std::thread::Builder::new().name(name);
            if let Some(bytes) = self.stack_size {
                builder = builder.stack_size(bytes);
            }
            let cpu = (self.pin && !registry.cpus.is_empty())
                .then(|| registry.cpus[index % registry.cpus.len()]);
            let reg = Arc::clone(&registry);
            match builder.spawn(move || WorkerThread::run(deque, index, reg, cpu)) {
                Ok(handle) => threads.push(handle),
                Err(error) => {
                    registry.terminate();
                    for handle in threads {
                        let _ = handle.join();
                    }
                    return Err(BuildError::new(BuildErrorKind::Spawn {
                        worker: index,
                        error: Arc::new(error),
                    }));
                }
            }
        }
        Ok(Executor::from_parts(registry, threads))
    }
}
