//! Computing several results at once: `delayed::compute((&a, &b, ...))`.

use super::delayed::Delayed;
use super::graph::Graph;
use super::progress;
use super::targets_trait;
use crate::run::{self, Mode};
use crate::store::Value;
use crate::{Error, Executor};

/// The results of a run, in the order their targets were collected.
#[doc(hidden)]
pub struct Results(std::vec::IntoIter<Value>);

impl Results {
    /// The results of a run, in the order of `Targets::collect`.
    pub(crate) fn new(values: Vec<Value>) -> Results {
        Results(values.into_iter())
    }

    /// The next result.
    pub(crate) fn next<T: Send + Sync + 'static>(&mut self) -> T {
        self.0
            .next()
            .expect("delayed: internal error: a result is missing")
            .into_typed()
    }

    /// The results left, all of type `T` (those of a list of targets).
    pub(crate) fn rest<T: Send + Sync + 'static>(&mut self) -> Vec<T> {
        self.0.by_ref().map(Value::into_typed).collect()
    }
}

targets_trait! {
    handle: Delayed,
    graph: Graph,
    api: "delayed",
    output: [Send + Sync + 'static],
    /// What [`compute`] can compute: a `&Delayed<T>` (gives `T`), a tuple of up
    /// to 8 of them (gives a tuple), or a list `&[Delayed<T>]` / `&Vec<Delayed<T>>`
    /// (gives `Vec<T>`). Implemented only by this crate.
    ///
    /// All targets must belong to one graph, and each may be asked for only once
    /// (the results are moved to the caller, so there is only one of each).
    trait Targets;
}

/// Computes several results in one run on the default executor
/// ([`Executor::global`]): tasks they share run once.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// let runs = Arc::new(AtomicUsize::new(0));
/// let g = delayed::Graph::new();
/// let counter = Arc::clone(&runs);
/// let x = g.delayed("shared", move || counter.fetch_add(1, Ordering::Relaxed) + 10);
/// let a = g.task("inc", &x, |v| v + 1);
/// let b = g.task("dec", &x, |v| v - 1);
/// assert_eq!(delayed::compute((&a, &b))?, (11, 9));
/// assert_eq!(runs.load(Ordering::Relaxed), 1);
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// # Errors
/// If a task panics or returns `Err`, or if the default executor cannot start.
///
/// # Panics
/// If the targets belong to different graphs, or one is asked for twice.
pub fn compute<Q: Targets>(targets: Q) -> Result<Q::Output, Error> {
    run_targets(targets, None)
}

/// Computes several results in one run on `executor`.
///
/// ```
/// let ex = delayed::Executor::builder().workers(2).build()?;
/// let g = delayed::Graph::new();
/// let xs: Vec<_> = (0..4).map(|i| g.delayed("x", move || i * 10)).collect();
/// assert_eq!(delayed::compute_on(&xs, &ex)?, vec![0, 10, 20, 30]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// If a task panics or returns `Err`.
///
/// # Panics
/// As [`compute`].
pub fn compute_on<Q: Targets>(targets: Q, executor: &Executor) -> Result<Q::Output, Error> {
    run_targets(targets, Some(Mode::Parallel(executor)))
}

/// Computes several results in the calling thread, one task at a time in a
/// topological order (Dask's `scheduler="sync"`), for debugging.
///
/// ```
/// let g = delayed::Graph::new();
/// let x = g.delayed("x", || 2);
/// let y = g.task("y", &x, |v| v * 3);
/// assert_eq!(delayed::compute_sync((&x, &y))?, (2, 6));
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// # Errors
/// If a task panics or returns `Err`.
///
/// # Panics
/// As [`compute`].
pub fn compute_sync<Q: Targets>(targets: Q) -> Result<Q::Output, Error> {
    run_targets(targets, Some(Mode::Sync))
}

/// Runs `targets` in `mode` (`None`: on the default executor).
fn run_targets<Q: Targets>(targets: Q, mode: Option<Mode<'_>>) -> Result<Q::Output, Error> {
    let mut graph = None;
    let mut ids = Vec::new();
    targets.collect(&mut graph, &mut ids);
    let values = match graph {
        None => Vec::new(),
        Some(graph) => {
            let mode = match mode {
                Some(mode) => mode,
                None => Mode::Parallel(Executor::global().map_err(Error::executor)?),
            };
            if progress::env_switch_cached() {
                // DELAYED_PROGRESS=1: the same run, with a progress bar.
                progress::run_with_progress(graph.store(), &ids, mode)?
            } else {
                run::run(graph.store(), &ids, mode)?
            }
        }
    };
    Ok(Q::outputs(&mut Results::new(values)))
}
