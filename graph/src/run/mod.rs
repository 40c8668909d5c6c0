//! The run layer (`../README.md`): running a graph: culling, per-node
//! counters, the parallel and the sync runner, the hooks a run reports to,
//! and `Error`. Built on the storage layer only. The protocol (lifecycle,
//! counters, who frees what) is written down once, in `README.md` beside
//! this file.

pub(crate) mod error;
mod job_state;
mod observer;
mod parallel;
mod plan;
mod state;
mod stream;
mod sync;

#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(test)]
mod remote_tests;

use std::sync::atomic::AtomicBool;

use crate::store::{Store, Value};
use crate::Executor;
pub use error::Error;
pub(crate) use observer::{Observer, Unobserved};
#[cfg(feature = "mpi")]
pub(crate) use parallel::{run_remote, Remote};
#[cfg(feature = "mpi")]
pub(crate) use plan::Csr;
pub(crate) use plan::Plan;
pub(crate) use state::RunState;

/// Where a run executes its tasks.
pub(crate) enum Mode<'e> {
    /// On the workers of an executor.
    Parallel(&'e Executor),
    /// In the calling thread, one task at a time.
    Sync,
}

/// Computes the nodes `targets` (ids in `store`, not empty, each once) and
/// returns their outputs in the same order, or the first failure.
pub(crate) fn run(store: &Store, targets: &[u32], mode: Mode<'_>) -> Result<Vec<Value>, Error> {
    run_observed(store, targets, mode, &Unobserved)
}

/// `run`, reporting each node's events to `observer` (diagnostics: a
/// profile, a progress bar).
pub(crate) fn run_observed<O: Observer>(
    store: &Store,
    targets: &[u32],
    mode: Mode<'_>,
    observer: &O,
) -> Result<Vec<Value>, Error> {
    run_cancellable(store, targets, mode, observer, &AtomicBool::new(false))
}

/// `run_observed`, stopping early once `cancelled` is set (by the run's own
/// first failure, or by another thread): tasks not started by then never
/// start, and the run returns `Error::cancelled` unless a task failed
/// first.
pub(crate) fn run_cancellable<O: Observer>(
    store: &Store,
    targets: &[u32],
    mode: Mode<'_>,
    observer: &O,
    cancelled: &AtomicBool,
) -> Result<Vec<Value>, Error> {
    let plan = Plan::new(store, targets);
    let state = RunState::new(store, &plan, cancelled);
    match mode {
        Mode::Parallel(executor) => parallel::run(&state, executor, observer),
        Mode::Sync => sync::run(&state, observer),
    }
    state.finish()
}
