//! `delayed::mpi::Delayed<T>`: a handle to the future result of one task of
//! a multi-node graph, and `Targets`, what one compute can ask for.

use std::marker::PhantomData;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::compute::{compute_targets, ComputeOptions};
use super::Graph;
use crate::api::{handle_impls, targets_trait, Results};
use crate::{Error, Executor, Profile};

/// The future result of a task of a multi-node [`Graph`]: a cheap `Clone`
/// handle, like [`delayed::Delayed`](crate::Delayed).
///
/// ```no_run
/// let g = delayed::mpi::Cluster::init()?.graph();
/// let x = g.delayed("inc", || 1 + 1);
/// let y = g.task("double", &x, |v| v * 2);
/// assert_eq!(y.compute()?, 4); // on every rank
/// assert_eq!(y.compute()?, 4); // each compute runs the tasks afresh
/// # Ok::<(), delayed::Error>(())
/// ```
pub struct Delayed<T> {
    graph: Graph,
    id: u32,
    /// Invariant in `T`: a result is moved out as exactly the type its task
    /// returns.
    _output: PhantomData<fn(T) -> T>,
}

impl<T> Delayed<T> {
    /// The graph this task belongs to.
    ///
    /// ```no_run
    /// let g = delayed::mpi::Cluster::init()?.graph();
    /// let x = g.delayed("x", || 1);
    /// let y = x.graph().task("y", &x, |v| v + 1);
    /// assert_eq!(g.len(), 2);
    /// # drop(y);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The task's key: its index in the graph, in the order tasks were
    /// added; the same on every rank.
    ///
    /// ```no_run
    /// let g = delayed::mpi::Cluster::init()?.graph();
    /// let x = g.delayed("x", || 1);
    /// assert_eq!(x.key(), 0);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn key(&self) -> usize {
        self.id as usize
    }

    /// The task's name, as given when it was added.
    ///
    /// ```no_run
    /// let g = delayed::mpi::Cluster::init()?.graph();
    /// assert_eq!(g.delayed("inc", || 1).name(), "inc");
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn name(&self) -> &str {
        self.graph.local().store().name(self.id)
    }

    /// The DOT text of Dask's picture of this result (see
    /// [`delayed::Delayed::to_dot`](crate::Delayed::to_dot)).
    ///
    /// ```no_run
    /// let g = delayed::mpi::Cluster::init()?.graph();
    /// let x = g.delayed("inc", || 2);
    /// assert!(g.task("double", &x, |v| v * 2).to_dot().contains("rankdir=BT"));
    /// # Ok::<(), delayed::Error>(())
    /// ```
    pub fn to_dot(&self) -> String {
        crate::inspect::dot::to_dot(self.graph.local().store(), &[self.id])
    }

    /// Writes the picture of [`to_dot`](Delayed::to_dot) to `path` (see
    /// [`delayed::Delayed::visualize`](crate::Delayed::visualize)).
    ///
    /// ```no_run
    /// let g = delayed::mpi::Cluster::init()?.graph();
    /// g.delayed("inc", || 2).visualize("inc.dot")?;
    /// # Ok::<(), delayed::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`delayed::Delayed::visualize`](crate::Delayed::visualize).
    pub fn visualize(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        crate::inspect::visualize::write(&self.to_dot(), path.as_ref())
    }
}

impl<T: Serialize + DeserializeOwned + Send + Sync + 'static> Delayed<T> {
    /// Computes the result across the job's ranks, each on its default
    /// executor ([`Executor::global`]); every rank gets the result. Every
    /// rank must make the same call.
    ///
    /// Called from inside a running task, it computes on this rank alone,
    /// as a nested compute on one node does.
    ///
    /// ```no_run
    /// let g = delayed::mpi::Cluster::init()?.graph();
    /// assert_eq!(g.delayed("inc", || 1 + 1).compute()?, 2);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    ///
    /// # Errors
    /// If a task fails on any rank (naming it and its rank), the ranks
    /// built different graphs, a placement names a rank outside the job, or
    /// the watchdog fires.
    pub fn compute(&self) -> Result<T, Error> {
        compute(self)
    }

    /// Computes the result across the job's ranks, this rank's tasks on
    /// `executor`.
    ///
    /// ```no_run
    /// let ex = delayed::Executor::builder().workers(2).build()?;
    /// let g = delayed::mpi::Cluster::init()?.graph();
    /// assert_eq!(g.delayed("inc", || 1 + 1).compute_on(&ex)?, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`compute`](Delayed::compute).
    pub fn compute_on(&self, executor: &Executor) -> Result<T, Error> {
        compute_on(self, executor)
    }
}

handle_impls!(handle: Delayed, graph: Graph);

targets_trait! {
    handle: Delayed,
    graph: Graph,
    api: "delayed::mpi",
    output: [Serialize + DeserializeOwned + Send + Sync + 'static],
    /// What [`compute`] can compute: a `&Delayed<T>` (gives `T`), a tuple of up
    /// to 8 of them, or a list `&[Delayed<T>]` / `&Vec<Delayed<T>>` (gives
    /// `Vec<T>`). Implemented only by this crate.
    trait Targets;
}

/// Computes several results in one compute across the job's ranks, each on
/// its default executor; tasks they share run once, and every rank gets
/// every result.
///
/// ```no_run
/// let g = delayed::mpi::Cluster::init()?.graph();
/// let x = g.delayed("x", || 10);
/// let a = g.task("inc", &x, |v| v + 1);
/// let b = g.task("dec", &x, |v| v - 1);
/// assert_eq!(delayed::mpi::compute((&a, &b))?, (11, 9));
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// # Errors
/// As [`Delayed::compute`].
///
/// # Panics
/// If the targets belong to different graphs, or one is asked for twice.
pub fn compute<Q: Targets>(targets: Q) -> Result<Q::Output, Error> {
    Ok(run(targets, None, &ComputeOptions::default())?.0)
}

/// Computes several results across the job's ranks, this rank's tasks on
/// `executor`.
///
/// ```no_run
/// let ex = delayed::Executor::builder().workers(1).build()?;
/// let g = delayed::mpi::Cluster::init()?.graph();
/// let xs: Vec<_> = (0..4).map(|i| g.delayed("x", move || i * 10)).collect();
/// assert_eq!(delayed::mpi::compute_on(&xs, &ex)?, vec![0, 10, 20, 30]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`Delayed::compute`].
///
/// # Panics
/// As [`compute`].
pub fn compute_on<Q: Targets>(targets: Q, executor: &Executor) -> Result<Q::Output, Error> {
    Ok(run(targets, Some(executor), &ComputeOptions::default())?.0)
}

/// Runs `targets` with `options`, on `executor` or the default one; the
/// results, and the profile if asked for (on rank 0).
pub(crate) fn run<Q: Targets>(
    targets: Q,
    executor: Option<&Executor>,
    options: &ComputeOptions,
) -> Result<(Q::Output, Option<Profile>), Error> {
    let mut graph = None;
    let mut ids = Vec::new();
    targets.collect(&mut graph, &mut ids);
    let (values, profile) = match graph {
        None => (Vec::new(), None),
        Some(graph) => {
            let executor = match executor {
                Some(executor) => Ok(executor),
                None => Executor::global().map_err(Error::executor),
            };
            compute_targets(&graph, &ids, executor, options)?
        }
    };
    Ok((Q::outputs(&mut Results::new(values)), profile))
}
