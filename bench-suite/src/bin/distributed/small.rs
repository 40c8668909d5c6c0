//! Section 6: a small compute again and again, what one step of an
//! iterative program pays per `compute` besides its tasks, against the
//! MPI floor for a step that ends with every rank knowing a sum: one
//! `MPI_Allreduce` of 8 bytes.

use std::error::Error;
use std::time::{Duration, Instant};

use delayed::mpi::{Cluster, Delayed, Graph};
use delayed::Executor;
use mpi::collective::SystemOperation;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives};

use super::{check, measure, spread, Bench};

/// One no-op task per rank and a sink on rank 0 summing them, built and
/// computed `computes` times (a new graph each time, as a loop that builds
/// its step does); the time of all of them.
fn rebuilt(cluster: &Cluster, ex: &Executor, computes: usize) -> Result<Duration, Box<dyn Error>> {
    let ranks = cluster.size();
    let start = Instant::now();
    for i in 0..computes as u64 {
        let sum = step(&cluster.graph(), ranks, i);
        let got = sum.compute_on(ex)?;
        check(got == step_sum(ranks, i), "small compute")?;
    }
    Ok(start.elapsed())
}

/// The same graph as `rebuilt`, built once and computed `computes` times.
fn again(cluster: &Cluster, ex: &Executor, computes: usize) -> Result<Duration, Box<dyn Error>> {
    let ranks = cluster.size();
    let sum = step(&cluster.graph(), ranks, 0);
    let start = Instant::now();
    for _ in 0..computes {
        let got = sum.compute_on(ex)?;
        check(got == step_sum(ranks, 0), "small compute again")?;
    }
    Ok(start.elapsed())
}

/// The floor: `computes` sums of one `u64` per rank, each known to every
/// rank (`MPI_Allreduce`).
fn allreduce(world: &SimpleCommunicator, computes: usize) -> Duration {
    let start = Instant::now();
    let mut sum = 0u64;
    for i in 0..computes as u64 {
        world.all_reduce_into(&(world.rank() as u64 + i), &mut sum, SystemOperation::sum());
    }
    std::hint::black_box(sum);
    start.elapsed()
}

/// Step `i`'s graph in `g`: a task on each of `ranks` ranks, `r` making
/// `r + i`, and their sum on rank 0.
fn step(g: &Graph, ranks: usize, i: u64) -> Delayed<u64> {
    let parts: Vec<_> = (0..ranks)
        .map(|r| g.on(r).delayed("part", move || r as u64 + i))
        .collect();
    g.on(0).task("sum", &parts, |v| v.into_iter().sum::<u64>())
}

/// What step `i`'s sink computes on `ranks` ranks.
fn step_sum(ranks: usize, i: u64) -> u64 {
    (0..ranks as u64).map(|r| r + i).sum()
}

impl Bench<'_> {
    /// Microseconds per compute of a graph of one task per rank and a sink,
    /// rebuilt each time and built once, and per `MPI_Allreduce`.
    pub(crate) fn small(&self) -> Result<(), Box<dyn Error>> {
        let computes = self.args.computes;
        self.say(&format!(
            "## Small computes: one no-op task per rank and a sink on rank 0, {computes} \
             computes per run (an iterative program's steps)\n"
        ));
        let per = |s: &[f64]| -> Vec<f64> { s.iter().map(|t| t * 1e6 / computes as f64).collect() };
        let (cluster, ex) = (&self.cluster, &self.ex);
        let (_, built) = measure(&self.world, self.args.runs, || {
            Ok((Duration::ZERO, rebuilt(cluster, ex, computes)?))
        })?;
        let (_, same) = measure(&self.world, self.args.runs, || {
            Ok((Duration::ZERO, again(cluster, ex, computes)?))
        })?;
        let (_, floor) = measure(&self.world, self.args.runs, || {
            Ok((Duration::ZERO, allreduce(&self.world, computes)))
        })?;
        self.say(
            "| ranks | graph built and computed, us per compute | built once, computed \
             again, us | MPI_Allreduce of 8 bytes, us |",
        );
        self.say("|---|---|---|---|");
        self.say(&format!(
            "| {} | {} | {} | {} |\n",
            self.ranks,
            spread(&per(&built), 1),
            spread(&per(&same), 1),
            spread(&per(&floor), 2)
        ));
        Ok(())
    }
}
