//! Computing several results at once: `delayed::compute((&a, &b, ...))`.

use super::delayed::Delayed;
use super::graph::Graph;
use super::progress;
use crate::run::{self, Mode};
use crate::store::Value;
use crate::{Error, Executor};

mod sealed {
    pub trait Targets {}
}

/// What [`compute`] can compute: a `&Delayed<T>` (gives `T`), a tuple of up
/// to 8 of them (gives a tuple), or a list `&[Delayed<T>]` / `&Vec<Delayed<T>>`
/// (gives `Vec<T>`). Implemented only by this crate.
///
/// All targets must belong to one graph, and each may be asked for only once
/// (the results are moved to the caller, so there is only one of each).
pub trait Targets: sealed::Targets {
    /// The results, moved to the caller.
    type Output;

    /// Adds the targets' ids to `ids`, and their graph to `graph`, checking
    /// that it is the same for all.
    #[doc(hidden)]
    fn collect(&self, graph: &mut Option<Graph>, ids: &mut Vec<u32>);

    /// Takes the results, in the order of `collect`.
    #[doc(hidden)]
    fn outputs(results: &mut Results) -> Self::Output;
}

/// The results of a run, in the order their targets were collected.
#[doc(hidden)]
pub struct Results(std::vec::IntoIter<Value>);

impl Results {
    /// The results of a run, in the order of `Targets::collect`.
    pub(crate) fn new(values: Vec<Value>) -> Results {
        Results(values.into_iter())
    }

    /// The next result, if any is left.
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    pub(crate) fn try_next<T: Send + Sync + 'static>(&mut self) -> Option<T> {
        self.0.next().map(Value::into_typed)
    }

    pub(crate) fn next<T: Send + Sync + 'static>(&mut self) -> T {
        self.0
            .next()
            .expect("delayed: internal error: a result is missing")
            .into_typed()
    }
}

fn collect_one<T>(target: &Delayed<T>, graph: &mut Option<Graph>, ids: &mut Vec<u32>) {
    match graph {
        None => *graph = Some(target.graph().clone()),
        Some(graph) => assert!(
            graph.same(target.graph()),
            "delayed: {target:?} belongs to another Graph than the other results asked for"
        ),
    }
    ids.push(target.id());
}

impl<T> sealed::Targets for &Delayed<T> {}
impl<T: Send + Sync + 'static> Targets for &Delayed<T> {
    type Output = T;

    fn collect(&self, graph: &mut Option<Graph>, ids: &mut Vec<u32>) {
        collect_one(self, graph, ids);
    }

    fn outputs(results: &mut Results) -> T {
        results.next()
    }
}

impl<T> sealed::Targets for &[Delayed<T>] {}
impl<T: Send + Sync + 'static> Targets for &[Delayed<T>] {
    type Output = Vec<T>;

    fn collect(&self, graph: &mut Option<Graph>, ids: &mut Vec<u32>) {
        ids.reserve(self.len());
        for target in self.iter() {
            collect_one(target, graph, ids);
        }
    }

    fn outputs(results: &mut Results) -> Vec<T> {
        let mut outputs = Vec::with_capacity(results.0.len());
        while results.0.len() > 0 {
            outputs.push(results.next());
        }
        outputs
    }
}

impl<T> sealed::Targets for &Vec<Delayed<T>> {}
impl<T: Send + Sync + 'static> Targets for &Vec<Delayed<T>> {
    type Output = Vec<T>;

    fn collect(&self, graph: &mut Option<Graph>, ids: &mut Vec<u32>) {
        self.as_slice().collect(graph, ids);
    }

    fn outputs(results: &mut Results) -> Vec<T> {
        <&[Delayed<T>]>::outputs(results)
    }
}

macro_rules! tuple_targets {
    ($(($T:ident, $k:tt)),+) => {
        impl<$($T),+> sealed::Targets for ($(&Delayed<$T>,)+) {}
        impl<$($T: Send + Sync + 'static),+> Targets for ($(&Delayed<$T>,)+) {
            type Output = ($($T,)+);

            fn collect(&self, graph: &mut Option<Graph>, ids: &mut Vec<u32>) {
                $(collect_one(self.$k, graph, ids);)+
            }

            fn outputs(results: &mut Results) -> Self::Output {
                ($(results.next::<$T>(),)+)
            }
        }
    };
}

tuple_targets!((A, 0));
tuple_targets!((A, 0), (B, 1));
tuple_targets!((A, 0), (B, 1), (C, 2));
tuple_targets!((A, 0), (B, 1), (C, 2), (D, 3));
tuple_targets!((A, 0), (B, 1), (C, 2), (D, 3), (E, 4));
tuple_targets!((A, 0), (B, 1), (C, 2), (D, 3), (E, 4), (F, 5));
tuple_targets!((A, 0), (B, 1), (C, 2), (D, 3), (E, 4), (F, 5), (G, 6));
tuple_targets!(
    (A, 0),
    (B, 1),
    (C, 2),
    (D, 3),
    (E, 4),
    (F, 5),
    (G, 6),
    (H, 7)
);

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
