//! The Task Bench graph on `delayed`: one task per point, whose inputs are
//! the points of the step before that it reads, and a sink that gathers
//! the last step (so that one compute returns every output to check).
//!
//! - [`run_local`]: `delayed::Graph` on one node's executor.
//! - [`run_cluster`]: `delayed::mpi::Graph` across the ranks of the job.
//!   Width is ranks x workers, and point `i` carries the placement hint
//!   `i / workers`: a block of `workers` consecutive points per rank, as
//!   Task Bench's MPI implementation lays them out, so a stencil crosses
//!   ranks only at the blocks' edges. (Placement without hints is another
//!   engineer's work; `--default-placement` of the binary leaves them out.)
//!
//! Both time the building of the graph and its compute together, as the
//! Dask script does.

use std::time::{Duration, Instant};

use delayed::{Error, Executor};

use super::kernel::{checksum, kernel};
use super::pattern::Pattern;

/// The shape of one run.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// The pattern.
    pub pattern: Pattern,
    /// Points per step.
    pub width: usize,
    /// Timesteps.
    pub steps: usize,
    /// Kernel iterations per task.
    pub iterations: u64,
}

/// Builds the graph on one node and computes it on `executor`: the last
/// step's outputs and the time taken (build and compute).
///
/// # Errors
/// If the compute fails (it does not, unless a task panics).
pub fn run_local(shape: Shape, executor: &Executor) -> Result<(Vec<u64>, Duration), Error> {
    let Shape {
        pattern,
        width,
        steps,
        iterations,
    } = shape;
    let start = Instant::now();
    let g = delayed::Graph::new();
    let mut row: Vec<delayed::Delayed<u64>> = Vec::new();
    for t in 0..steps {
        row = (0..pattern.active(t, width))
            .map(|i| {
                let inputs: Vec<_> = pattern
                    .deps(t, i, width)
                    .into_iter()
                    .map(|j| row[j].clone())
                    .collect();
                g.task("point", &inputs, move |v| {
                    checksum(t, i, v.into_iter().copied(), kernel(iterations))
                })
            })
            .collect();
    }
    let sink = g.task("sink", &row, |v| {
        v.into_iter().copied().collect::<Vec<u64>>()
    });
    let out = sink.compute_on(executor)?;
    Ok((out, start.elapsed()))
}

/// Builds the graph across the job's ranks (every rank builds the same)
/// and computes it with this rank's `executor`: the last step's outputs
/// (on every rank) and this rank's time (build and compute). With `hints`,
/// point `i` runs on rank `i / workers`.
///
/// # Errors
/// If the compute fails on any rank.
pub fn run_cluster(
    cluster: &delayed::mpi::Cluster,
    shape: Shape,
    workers: usize,
    hints: bool,
    executor: &Executor,
) -> Result<(Vec<u64>, Duration), Error> {
    let Shape {
        pattern,
        width,
        steps,
        iterations,
    } = shape;
    let start = Instant::now();
    let g = cluster.graph();
    let mut row: Vec<delayed::mpi::Delayed<u64>> = Vec::new();
    for t in 0..steps {
        row = (0..pattern.active(t, width))
            .map(|i| {
                let inputs: Vec<_> = pattern
                    .deps(t, i, width)
                    .into_iter()
                    .map(|j| row[j].clone())
                    .collect();
                let f = move |v: delayed::mpi::Refs<'_, &Vec<delayed::mpi::Delayed<u64>>>| {
                    checksum(t, i, v.into_iter().copied(), kernel(iterations))
                };
                if hints {
                    g.on((i / workers.max(1)).min(cluster.size() - 1))
                        .task("point", &inputs, f)
                } else {
                    g.task("point", &inputs, f)
                }
            })
            .collect();
    }
    let sink = g.task("sink", &row, |v| {
        v.into_iter().copied().collect::<Vec<u64>>()
    });
    let out = sink.compute_on(executor)?;
    Ok((out, start.elapsed()))
}
