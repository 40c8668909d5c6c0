//! One graph across the ranks of an MPI job (feature `mpi`): the top layer
//! of the crate, built on the public API's graph and the run protocol.
//!
//! A program started by `mpirun -np N` (or `srun -n N --mpi=pmix` under
//! Slurm) builds the same graph on every rank, as any MPI program does, and
//! every rank gets the results:
//!
//! ```no_run
//! use delayed::mpi::Cluster;
//!
//! fn inc(x: i64) -> i64 { x + 1 }
//!
//! let cluster = Cluster::init()?;            // once per process
//! let g = cluster.graph();
//! let xs: Vec<_> = (1..=8).map(|i| g.delayed("inc", move || inc(i))).collect();
//! let total = g.task("sum", &xs, |v| v.into_iter().sum::<i64>());
//! assert_eq!(total.compute()?, 44);          // every rank gets the result
//! let report = g.on(0).task("report", &total, |t| format!("total={t}")); // runs on rank 0
//! let (t, r) = delayed::mpi::compute((&total, &report))?;
//! assert_eq!((t, r.as_str()), (44, "total=44"));
//! # Ok::<(), delayed::Error>(())
//! ```
//!
//! - Outputs cross ranks, so they are `Serialize + DeserializeOwned`
//!   (checked by the compiler); values travel encoded with postcard. A
//!   value's `Serialize` or `Deserialize` that returns an error or panics
//!   makes an [`Error`](crate::Error) that names the task and carries the
//!   value's own message.
//! - Placement is decided before anything runs, the same on every rank:
//!   hints ([`Graph::on`]) win; otherwise chains stay together and the rest
//!   is balanced (`placement.rs`).
//! - Inside a rank, tasks run on its executor (all its workers, one per CPU
//!   as on one node); a task whose inputs come from other ranks starts as
//!   soon as they arrive. During a compute, ranks exchange only
//!   non-blocking point-to-point messages; collectives run at its start
//!   (the graph's fingerprint) and end (the outcome, the results).
//! - A task that fails on any rank fails the compute on every rank, naming
//!   the task and its rank ([`Error::rank`](crate::Error::rank)); ranks that
//!   built different graphs get an error naming the first task that
//!   differs; a rank that dies ends the job (MPI's own abort).
//!
//! The protocol, step by step, is in `src/mpi/README.md`.

mod arrivals;
mod backoff;
mod cluster;
mod codec;
mod comm;
mod compute;
mod cpus;
mod delayed;
mod deserialize_error;
mod driver;
mod exchange;
mod fingerprint;
mod graph;
mod heap;
mod inbox;
pub mod inputs;
mod kept_columns;
mod needed;
mod placement;
mod prepare;
mod profile;
mod rank_plan;
mod reuse;
mod run_buffers;
mod schedule;
mod serialize_error;
mod spares;
mod waiting;
mod wire;

pub use self::cluster::Cluster;
pub use self::compute::{ComputeOptions, TIMEOUT_ENV};
pub use self::cpus::SHARE_CPUS_ENV;
pub use self::delayed::{compute, compute_on, Delayed, Targets};
pub use self::graph::{Graph, Placed};
pub use self::heap::KEEP_HEAP_ENV;
pub use self::inputs::{Inputs, Refs};
pub use self::reuse::REUSE_PLANS_ENV;
pub use self::schedule::Placement;
pub use crate::Computed;

impl<T> Delayed<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    /// Computes the result with `options` (an executor, a watchdog, a
    /// profile merged over the ranks, a placement learnt from one).
    ///
    /// ```no_run
    /// let g = delayed::mpi::Cluster::init()?.graph();
    /// let options = delayed::mpi::ComputeOptions::new();
    /// assert_eq!(g.delayed("x", || 1).compute_with(&options)?.value, 1);
    /// # Ok::<(), delayed::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Delayed::compute`].
    pub fn compute_with(&self, options: &ComputeOptions) -> Result<Computed<T>, crate::Error> {
        compute_with(self, options)
    }
}

/// Computes several results with `options` (see [`compute`]); the profile,
/// if asked for, merged over every rank.
///
/// ```no_run
/// let g = delayed::mpi::Cluster::init()?.graph();
/// let (x, y) = (g.delayed("x", || 1), g.delayed("y", || 2));
/// let options = delayed::mpi::ComputeOptions::new();
/// assert_eq!(delayed::mpi::compute_with((&x, &y), &options)?.value, (1, 2));
/// # Ok::<(), delayed::Error>(())
/// ```
///
/// # Errors
/// As [`Delayed::compute`].
pub fn compute_with<Q: Targets>(
    targets: Q,
    options: &ComputeOptions,
) -> Result<Computed<Q::Output>, crate::Error> {
    let (value, profile) = delayed::run(targets, options.given_executor(), options)?;
    Ok(Computed { value, profile })
}
