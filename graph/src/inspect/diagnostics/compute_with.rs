//! `compute_with`: a compute with a progress bar, a profile, or both.

use super::profile::Profile;
use super::recorder::Recorder;
use crate::api::progress::{self, ProgressTicker};
use crate::api::{Results, Targets};
use crate::run::{self, Mode, Observer, Plan};
use crate::store::{Store, Value};
use crate::{Delayed, Error, Executor};

/// How [`compute_with`] runs: on which executor (or in the calling
/// thread), with a progress bar or not, recording a [`Profile`] or not.
///
/// A builder: each method returns the options changed.
///
/// ```
/// use delayed::{ComputeOptions, Executor};
///
/// let ex = Executor::builder().workers(2).build()?;
/// let options = ComputeOptions::new().executor(&ex).progress(true).profile(true);
/// let g = delayed::Graph::new();
/// let x = g.delayed("x", || 21);
/// let y = g.task("double", &x, |v| v * 2);
/// let out = y.compute_with(&options)?;
/// assert_eq!(out.value, 42);
/// assert_eq!(out.profile.map(|p| p.len()), Some(2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct ComputeOptions {
    executor: Option<Executor>,
    sync: bool,
    progress: Option<bool>,
    profile: bool,
}

impl ComputeOptions {
    /// The defaults: the default executor ([`Executor::global`]), a progress
    /// bar only if `DELAYED_PROGRESS=1` ([`PROGRESS_ENV`](crate::PROGRESS_ENV)),
    /// no profile: the same as [`Delayed::compute`].
    ///
    /// ```
    /// let g = delayed::Graph::new();
    /// let x = g.delayed("x", || 1);
    /// let out = x.compute_with(&delayed::ComputeOptions::new())?;
    /// assert_eq!((out.value, out.profile.is_none()), (1, true));
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn new() -> ComputeOptions {
        ComputeOptions::default()
    }

    /// Runs on `executor` (a cheap handle, cloned).
    ///
    /// ```
    /// let ex = delayed::Executor::builder().workers(3).build()?;
    /// let options = delayed::ComputeOptions::new().executor(&ex).profile(true);
    /// let g = delayed::Graph::new();
    /// let profile = g.delayed("x", || 1).compute_with(&options)?.profile.unwrap();
    /// assert_eq!(profile.workers(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn executor(mut self, executor: &Executor) -> ComputeOptions {
        self.executor = Some(executor.clone());
        self
    }

    /// `true`: runs every task in the calling thread, in a topological order
    /// (Dask's `scheduler="sync"`, as [`Delayed::compute_sync`]); the
    /// executor, if given, is not used.
    ///
    /// ```
    /// let here = std::thread::current().id();
    /// let g = delayed::Graph::new();
    /// let x = g.delayed("where", move || std::thread::current().id() == here);
    /// let out = x.compute_with(&delayed::ComputeOptions::new().sync(true))?;
    /// assert!(out.value);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn sync(mut self, sync: bool) -> ComputeOptions {
        self.sync = sync;
        self
    }

    /// Shows a progress bar on standard error (tasks done / total, elapsed
    /// time, rate), or not, whatever `DELAYED_PROGRESS` says. The bar is only
    /// drawn when standard error is a terminal. Costs one atomic increment
    /// per task.
    ///
    /// ```
    /// let g = delayed::Graph::new();
    /// let x = g.delayed("x", || 1);
    /// // No bar in tests and pipes: standard error is not a terminal there.
    /// assert_eq!(x.compute_with(&delayed::ComputeOptions::new().progress(true))?.value, 1);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn progress(mut self, progress: bool) -> ComputeOptions {
        self.progress = Some(progress);
        self
    }

    /// Records a [`Profile`]: per task its worker and when it became ready,
    /// started and ended. Costs a few clock reads per task (see the crate's
    /// `results/diagnostics/README.md` for the measured cost).
    ///
    /// ```
    /// let g = delayed::Graph::new();
    /// let x = g.delayed("x", || 1);
    /// let out = x.compute_with(&delayed::ComputeOptions::new().profile(true))?;
    /// assert_eq!(out.profile.unwrap().task(0).name, "x");
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn profile(mut self, profile: bool) -> ComputeOptions {
        self.profile = profile;
        self
    }
}

/// What [`compute_with`] returns: the result, and the profile if asked for.
///
/// ```
/// let g = delayed::Graph::new();
/// let x = g.delayed("x", || String::from("moved, not cloned"));
/// let delayed::Computed { value, profile } = x.compute_with(&delayed::ComputeOptions::new())?;
/// assert_eq!(value, "moved, not cloned");
/// assert!(profile.is_none());
/// # Ok::<(), delayed::Error>(())
/// ```
#[derive(Debug)]
pub struct Computed<T> {
    /// The result(s), as [`compute`](crate::compute) returns them.
    pub value: T,
    /// The run's profile, with [`ComputeOptions::profile`].
    pub profile: Option<Profile>,
}

/// Computes several results in one run (as [`compute`](crate::compute)), as
/// `options` say: executor or sync, progress bar, profile.
///
/// ```
/// use delayed::ComputeOptions;
///
/// let g = delayed::Graph::new();
/// let x = g.delayed("x", || 2);
/// let y = g.task("y", &x, |v| v * 3);
/// let out = delayed::compute_with((&x, &y), &ComputeOptions::new().profile(true))?;
/// assert_eq!(out.value, (2, 6));
/// assert_eq!(out.profile.unwrap().len(), 2);
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// # Errors
/// If a task panics or returns `Err` (no profile is returned then), or if the
/// default executor cannot start.
///
/// # Panics
/// As [`compute`](crate::compute).
pub fn compute_with<Q: Targets>(
    targets: Q,
    options: &ComputeOptions,
) -> Result<Computed<Q::Output>, Error> {
    let mut graph = None;
    let mut ids = Vec::new();
    targets.collect(&mut graph, &mut ids);
    let Some(graph) = graph else {
        let value = Q::outputs(&mut Results::new(Vec::new()));
        return Ok(Computed {
            value,
            profile: None,
        });
    };
    let executor = match (&options.executor, options.sync) {
        (_, true) => None,
        (Some(executor), false) => Some(executor),
        (None, false) => Some(Executor::global().map_err(Error::executor)?),
    };
    let progress = progress::shows(
        options.progress,
        progress::env_switch(),
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
    );
    let (values, profile) =
        run_diagnosed(graph.store(), &ids, executor, progress, options.profile)?;
    Ok(Computed {
        value: Q::outputs(&mut Results::new(values)),
        profile,
    })
}

impl<T: Send + Sync + 'static> Delayed<T> {
    /// Computes the result as `options` say (see [`compute_with`]).
    ///
    /// ```
    /// use delayed::{ComputeOptions, Executor, Graph};
    ///
    /// let ex = Executor::builder().workers(2).build()?;
    /// let g = Graph::new();
    /// let xs: Vec<_> = (1..=8).map(|i| g.delayed("inc", move || i + 1)).collect();
    /// let total = g.task("sum", &xs, |v| v.into_iter().sum::<i64>());
    /// let out = total.compute_with(&ComputeOptions::new().executor(&ex).profile(true))?;
    /// assert_eq!(out.value, 44);
    /// let profile = out.profile.unwrap();
    /// println!("{}\n{}", profile.efficiency(), profile.what_if(&delayed::WHAT_IF_WORKERS));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`compute_with`].
    pub fn compute_with(&self, options: &ComputeOptions) -> Result<Computed<T>, Error> {
        compute_with(self, options)
    }
}

/// Runs `targets` of `store` (on `executor`, `None`: sync) with a progress
/// bar if `progress` (and standard error is a terminal) and a recorder if
/// `profile`.
fn run_diagnosed(
    store: &Store,
    targets: &[u32],
    executor: Option<&Executor>,
    progress: bool,
    profile: bool,
) -> Result<(Vec<Value>, Option<Profile>), Error> {
    if !profile {
        let values = if progress {
            // A bar and nothing else: what plain `compute` draws.
            progress::run_with_progress(store, targets, mode_of(executor))?
        } else {
            run_with(store, targets, executor, None, None)?
        };
        return Ok((values, None));
    }
    // A progress bar needs the number of tasks first: the runner's plan
    // (planning is deterministic, and nodes added meanwhile come after every
    // target, so its size and local order are the runner's).
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut plan = (progress && terminal).then(|| Plan::new(store, targets));
    let ticker = plan
        .as_ref()
        .and_then(|plan| ProgressTicker::new(plan.len()));
    // Room for every node up to the last target: a run never has more, and
    // room it does not use costs nothing (zeroed pages are mapped on use).
    let max = *targets.iter().max().expect("targets are not empty") as usize;
    let recorder = profile.then(|| Recorder::new(plan.as_ref().map_or(max + 1, Plan::len)));
    let values = run_with(store, targets, executor, recorder.as_ref(), ticker.as_ref());
    // The profile first: its wall-clock time ends when the run did.
    let workers = executor.map_or(1, Executor::workers);
    let profile = match (&values, recorder) {
        (Ok(_), Some(recorder)) => {
            let nodes = recorder.started();
            Some(if nodes == max + 1 {
                // Every node up to the last target ran: local index = id.
                recorder.finish(
                    nodes,
                    |k| (store.name(k), k as usize, store.inputs(k)),
                    workers,
                )
            } else {
                let plan = plan.get_or_insert_with(|| Plan::new(store, targets));
                recorder.finish(
                    nodes,
                    |k| {
                        let id = plan.node_id(k);
                        (store.name(id), id as usize, plan.inputs(store, k))
                    },
                    workers,
                )
            })
        }
        _ => None,
    };
    if let Some(ticker) = ticker {
        ticker.finish();
    }
    let values = values?;
    Ok((values, profile))
}

/// What the runner reports to, for a profiled or progress-showing compute.
pub(crate) struct Diagnosis<'a> {
    pub(crate) recorder: Option<&'a Recorder>,
    pub(crate) progress: Option<&'a ProgressTicker>,
    /// The executor, to ask which worker runs a task (`None`: sync, worker 0).
    pub(crate) executor: Option<&'a Executor>,
}

impl Observer for Diagnosis<'_> {
    #[inline]
    fn ready(&self, k: u32) {
        if let Some(recorder) = self.recorder {
            recorder.ready(k);
        }
    }

    #[inline]
    fn start(&self, k: u32) {
        if let Some(recorder) = self.recorder {
            let worker = self
                .executor
                .and_then(Executor::current_worker_index)
                .unwrap_or(0);
            recorder.start(k, worker);
        }
    }

    #[inline]
    fn end(&self, k: u32, _ok: bool) {
        if let Some(recorder) = self.recorder {
            recorder.end(k);
        }
        if let Some(progress) = self.progress {
            progress.task_done();
        }
    }
}

/// Runs `targets` of `store` on `executor` (`None`: in this thread).
fn run_with(
    store: &Store,
    targets: &[u32],
    executor: Option<&Executor>,
    recorder: Option<&Recorder>,
    progress: Option<&ProgressTicker>,
) -> Result<Vec<Value>, Error> {
    let mode = mode_of(executor);
    if recorder.is_none() && progress.is_none() {
        return run::run(store, targets, mode);
    }
    let diagnosis = Diagnosis {
        recorder,
        progress,
        executor,
    };
    run::run_observed(store, targets, mode, &diagnosis)
}

/// Runs on `executor`, or in the calling thread for `None`.
fn mode_of(executor: Option<&Executor>) -> Mode<'_> {
    match executor {
        Some(executor) => Mode::Parallel(executor),
        None => Mode::Sync,
    }
}
