//! Computing from async code: a [`ComputeFuture`] that an async program
//! (tokio, async-std, any executor) awaits without blocking its threads.
//!
//! The library depends on no async runtime. At its first poll the future
//! hands the whole run to the executor as one job ([`Executor::spawn`]);
//! that job runs the compute like [`compute_on`](crate::compute_on) does on
//! a worker (waiting inside the run, the worker runs other jobs, so it
//! cannot deadlock), stores the result in the state it shares with the
//! future, and wakes the waker that the last poll stored there.
//!
//! Who owns what: the future owns what the run needs until it starts (a
//! `Graph` handle, the target ids, an `Executor` handle, all `'static`);
//! the job then owns them, and drops them when the run has ended. Both own
//! an `Arc` of the shared state (the cancel flag, the waker, then the
//! result), freed by whichever of the two ends last.
//!
//! Dropping the future before it completes sets the run's cancel flag: tasks
//! not started by then never start (those running finish), and the job
//! ends the run as a failed one would, dropping the values computed so far.
//! A future dropped before its first poll starts nothing.

use std::any::Any;
use std::future::Future;
use std::mem;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use super::compute::{Results, Targets};
use super::delayed::Delayed;
use super::graph::Graph;
use crate::run::{self, Mode, Unobserved};
use crate::store::Value;
use crate::{Error, Executor};

/// What the job hands to the future: the run's values, its error, or the
/// panic of the run itself (a target asked for twice), resumed by `poll`
/// on the awaiting thread as [`compute`](crate::compute) would raise it.
type Outcome = Result<Result<Vec<Value>, Error>, Box<dyn Any + Send>>;

/// Where a run stands, as the future and the job see it.
enum State {
    /// Not finished; the waker of the last poll, if polled.
    Running(Option<Waker>),
    /// Finished; not yet returned by `poll`.
    Done(Outcome),
    /// Returned by `poll`.
    Taken,
}

/// The state a future shares with its job.
struct Shared {
    /// The run's cancel flag (`run::run_cancellable`): set by dropping the
    /// future. `Relaxed`: it publishes nothing; whatever makes a task start
    /// after the drop (a channel, a lock) orders the store before that
    /// task's check.
    cancelled: AtomicBool,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Nothing panics while holding the lock, but a poisoned state is
        // still a valid one.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What the run needs until it starts.
enum Start {
    /// Spawn a run of `ids` in `graph` on `executor` at the first poll.
    Run {
        graph: Graph,
        ids: Vec<u32>,
        executor: Executor,
    },
    /// Nothing to run: the outcome is already in the shared state (no
    /// targets, or no default executor).
    Ready,
}

/// A compute in progress, returned by [`Delayed::compute_async`] and
/// [`compute_async`]: resolves to the compute's result when its run ends.
///
/// It starts the run when first polled and never blocks a thread of the
/// async runtime; dropping it before it completes cancels the run (tasks
/// not started never run). It is `Send` and `Unpin`. It draws no progress
/// bar (`DELAYED_PROGRESS` is for [`compute`](crate::compute) and
/// [`compute_with`](crate::compute_with)).
///
/// ```
/// let g = delayed::Graph::new();
/// let x = g.delayed("x", || 20);
/// let y = g.task("y", &x, |v| v + 22);
/// let future: delayed::ComputeFuture<i32> = y.compute_async();
/// // Any executor of futures awaits it; here, a minimal one.
/// assert_eq!(block_on(future)?, 42);
///
/// fn block_on<F: std::future::Future>(future: F) -> F::Output {
///     use std::sync::Arc;
///     use std::task::{Context, Poll, Wake, Waker};
///     struct Unpark(std::thread::Thread);
///     impl Wake for Unpark {
///         fn wake(self: Arc<Self>) { self.0.unpark() }
///     }
///     let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
///     let mut future = std::pin::pin!(future);
///     loop {
///         match future.as_mut().poll(&mut Context::from_waker(&waker)) {
///             Poll::Ready(output) => return output,
///             Poll::Pending => std::thread::park(),
///         }
///     }
/// }
/// # Ok::<(), delayed::Error>(())
/// ```
#[must_use = "a ComputeFuture does nothing unless awaited; dropping it cancels the compute"]
pub struct ComputeFuture<T> {
    shared: Arc<Shared>,
    start: Option<Start>,
    /// Takes the results out of the values, in the order of the targets.
    outputs: fn(&mut Results) -> T,
}

impl<T> ComputeFuture<T> {
    fn new<Q: Targets<Output = T>>(targets: Q, executor: Option<&Executor>) -> ComputeFuture<T> {
        let mut graph = None;
        let mut ids = Vec::new();
        targets.collect(&mut graph, &mut ids);
        let (state, start) = match graph {
            None => (State::Done(Ok(Ok(Vec::new()))), Start::Ready),
            Some(graph) => {
                match executor.map_or_else(|| Executor::global().cloned(), |e| Ok(e.clone())) {
                    Ok(executor) => {
                        let start = Start::Run {
                            graph,
                            ids,
                            executor,
                        };
                        (State::Running(None), start)
                    }
                    Err(error) => (State::Done(Ok(Err(Error::executor(error)))), Start::Ready),
                }
            }
        };
        ComputeFuture {
            shared: Arc::new(Shared {
                cancelled: AtomicBool::new(false),
                state: Mutex::new(state),
            }),
            start: Some(start),
            outputs: Q::outputs,
        }
    }
}

/// Runs `ids` of `graph` on `executor` as one job of it, then stores the
/// outcome in `shared` and wakes the waker stored there.
fn spawn_run(graph: Graph, ids: Vec<u32>, executor: Executor, shared: Arc<Shared>) {
    let pool = executor.clone();
    pool.spawn(move || {
        let outcome = if shared.cancelled.load(Ordering::Relaxed) {
            // Dropped before the run started: nobody waits for it.
            Ok(Err(Error::cancelled()))
        } else {
            panic::catch_unwind(AssertUnwindSafe(|| {
                let mode = Mode::Parallel(&executor);
                run::run_cancellable(graph.store(), &ids, mode, &Unobserved, &shared.cancelled)
            }))
        };
        // The graph and executor handles go before the waker is woken, so
        // an awaiting program that then drops its own sees them released.
        drop((graph, ids, executor));
        let waker = match mem::replace(&mut *shared.lock(), State::Done(outcome)) {
            State::Running(waker) => waker,
            State::Done(_) | State::Taken => unreachable!("delayed: a run finished twice"),
        };
        // Woken outside the lock: the waker may poll at once.
        if let Some(waker) = waker {
            waker.wake();
        }
    });
}

impl<T> Future for ComputeFuture<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, Error>> {
        let this = self.get_mut();
        if let Some(Start::Run {
            graph,
            ids,
            executor,
        }) = this.start.take()
        {
            spawn_run(graph, ids, executor, Arc::clone(&this.shared));
        }
        let mut state = this.shared.lock();
        match mem::replace(&mut *state, State::Taken) {
            State::Running(waker) => {
                let waker = match waker {
                    Some(waker) if waker.will_wake(cx.waker()) => waker,
                    _ => cx.waker().clone(),
                };
                *state = State::Running(Some(waker));
                Poll::Pending
            }
            State::Done(outcome) => {
                drop(state);
                match outcome {
                    Ok(values) => Poll::Ready(values.map(|v| (this.outputs)(&mut Results::new(v)))),
                    Err(payload) => panic::resume_unwind(payload),
                }
            }
            State::Taken => panic!("delayed: a ComputeFuture was polled after it completed"),
        }
    }
}

impl<T> Drop for ComputeFuture<T> {
    fn drop(&mut self) {
        // A no-op once the run has ended; before, tasks not started never
        // start.
        self.shared.cancelled.store(true, Ordering::Relaxed);
    }
}

impl<T> std::fmt::Debug for ComputeFuture<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &*self.shared.lock() {
            State::Running(_) if self.start.is_some() => "not started",
            State::Running(_) => "running",
            State::Done(_) => "done",
            State::Taken => "taken",
        };
        f.debug_struct("ComputeFuture")
            .field("state", &state)
            .finish()
    }
}

/// Computes several results in one run on the default executor
/// ([`Executor::global`]), as a future: the async form of
/// [`compute`](crate::compute).
///
/// ```
/// let g = delayed::Graph::new();
/// let x = g.delayed("x", || 2);
/// let y = g.task("y", &x, |v| v * 3);
/// let future = delayed::compute_async((&x, &y));
/// // In an async fn: `let (a, b) = future.await?;`; here, a minimal executor
/// // (see `ComputeFuture`).
/// assert_eq!(block_on(future)?, (2, 6));
/// # fn block_on<F: std::future::Future>(future: F) -> F::Output {
/// #     use std::future::Future as _;
/// #     struct Unpark(std::thread::Thread);
/// #     impl std::task::Wake for Unpark {
/// #         fn wake(self: std::sync::Arc<Self>) { self.0.unpark() }
/// #     }
/// #     let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
/// #     let mut future = std::pin::pin!(future);
/// #     loop {
/// #         match future.as_mut().poll(&mut std::task::Context::from_waker(&waker)) {
/// #             std::task::Poll::Ready(output) => return output,
/// #             std::task::Poll::Pending => std::thread::park(),
/// #         }
/// #     }
/// # }
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// # Errors
/// The future resolves to `Err` if a task panics or returns `Err`, or if the
/// default executor cannot start.
///
/// # Panics
/// If the targets belong to different graphs; when polled, if one is asked
/// for twice.
pub fn compute_async<Q: Targets>(targets: Q) -> ComputeFuture<Q::Output> {
    ComputeFuture::new(targets, None)
}

/// Computes several results in one run on `executor`, as a future: the
/// async form of [`compute_on`](crate::compute_on).
///
/// ```
/// let ex = delayed::Executor::builder().workers(2).build()?;
/// let g = delayed::Graph::new();
/// let xs: Vec<_> = (0..4).map(|i| g.delayed("x", move || i * 10)).collect();
/// let future = delayed::compute_on_async(&xs, &ex);
/// // In an async fn: `let values = future.await?;`
/// assert_eq!(block_on(future)?, vec![0, 10, 20, 30]);
/// # fn block_on<F: std::future::Future>(future: F) -> F::Output {
/// #     use std::future::Future as _;
/// #     struct Unpark(std::thread::Thread);
/// #     impl std::task::Wake for Unpark {
/// #         fn wake(self: std::sync::Arc<Self>) { self.0.unpark() }
/// #     }
/// #     let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
/// #     let mut future = std::pin::pin!(future);
/// #     loop {
/// #         match future.as_mut().poll(&mut std::task::Context::from_waker(&waker)) {
/// #             std::task::Poll::Ready(output) => return output,
/// #             std::task::Poll::Pending => std::thread::park(),
/// #         }
/// #     }
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// The future resolves to `Err` if a task panics or returns `Err`.
///
/// # Panics
/// As [`compute_async`].
pub fn compute_on_async<Q: Targets>(targets: Q, executor: &Executor) -> ComputeFuture<Q::Output> {
    ComputeFuture::new(targets, Some(executor))
}

impl<T: Send + Sync + 'static> Delayed<T> {
    /// Computes the result on the default executor as a future, which an
    /// async program awaits without blocking its threads; dropping it
    /// cancels the compute.
    ///
    /// ```
    /// async fn total(g: &delayed::Graph) -> Result<i64, delayed::Error> {
    ///     let xs: Vec<_> = (1..=8).map(|i| g.delayed("inc", move || i + 1)).collect();
    ///     let sum = g.task("sum", &xs, |v| v.into_iter().sum::<i64>());
    ///     sum.compute_async().await
    /// }
    /// assert_eq!(block_on(total(&delayed::Graph::new()))?, 44);
    /// # fn block_on<F: std::future::Future>(future: F) -> F::Output {
    /// #     use std::future::Future as _;
    /// #     struct Unpark(std::thread::Thread);
    /// #     impl std::task::Wake for Unpark {
    /// #         fn wake(self: std::sync::Arc<Self>) { self.0.unpark() }
    /// #     }
    /// #     let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    /// #     let mut future = std::pin::pin!(future);
    /// #     loop {
    /// #         match future.as_mut().poll(&mut std::task::Context::from_waker(&waker)) {
    /// #             std::task::Poll::Ready(output) => return output,
    /// #             std::task::Poll::Pending => std::thread::park(),
    /// #         }
    /// #     }
    /// # }
    /// # Ok::<(), delayed::Error>(())
    /// ```
    ///
    /// # Errors
    /// The future resolves to `Err` if a task panics or returns `Err` (the
    /// tasks not yet started are cancelled), or if the default executor
    /// cannot start.
    pub fn compute_async(&self) -> ComputeFuture<T> {
        compute_async(self)
    }

    /// Computes the result on `executor` as a future.
    ///
    /// ```
    /// async fn double(x: &delayed::Delayed<i32>, ex: &delayed::Executor) -> i32 {
    ///     let y = x.graph().task("double", x, |v| v * 2);
    ///     y.compute_on_async(ex).await.unwrap()
    /// }
    /// let ex = delayed::Executor::builder().workers(1).build()?;
    /// let x = delayed::Graph::new().delayed("x", || 21);
    /// assert_eq!(block_on(double(&x, &ex)), 42);
    /// # fn block_on<F: std::future::Future>(future: F) -> F::Output {
    /// #     use std::future::Future as _;
    /// #     struct Unpark(std::thread::Thread);
    /// #     impl std::task::Wake for Unpark {
    /// #         fn wake(self: std::sync::Arc<Self>) { self.0.unpark() }
    /// #     }
    /// #     let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    /// #     let mut future = std::pin::pin!(future);
    /// #     loop {
    /// #         match future.as_mut().poll(&mut std::task::Context::from_waker(&waker)) {
    /// #             std::task::Poll::Ready(output) => return output,
    /// #             std::task::Poll::Pending => std::thread::park(),
    /// #         }
    /// #     }
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// The future resolves to `Err` if a task panics or returns `Err`.
    pub fn compute_on_async(&self, executor: &Executor) -> ComputeFuture<T> {
        compute_on_async(self, executor)
    }
}
