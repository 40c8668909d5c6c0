//! The Task Bench graph on `delayed`: one task per point, whose inputs are
//! the points of the step before that it reads, and a sink that gathers
//! the last step (so that one compute returns every output to check).
//!
//! A compute runs only the ancestors of its target, and in `tree` the
//! upper half of each step is read by no one (point `i` reads `i / 2`): so
//! that every point runs, as in Task Bench, such leaves feed a `leaves`
//! task per rank (on that rank), which feeds the sink.
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
    let mut leaves = Vec::new();
    let mut row = build(
        pattern,
        width,
        steps,
        |t, i, inputs: &[&delayed::Delayed<u64>]| {
            g.task("point", inputs, move |v| {
                checksum(t, i, v.into_iter().copied(), kernel(iterations))
            })
        },
        |_, leaf| leaves.push(leaf.clone()),
    );
    let last = row.len();
    if !leaves.is_empty() {
        row.push(g.task("leaves", &leaves, |v| fold(v)));
    }
    let sink = g.task("sink", &row, move |v| {
        v.into_iter().take(last).copied().collect::<Vec<u64>>()
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
    use delayed::mpi::{Delayed, Refs};
    let Shape {
        pattern,
        width,
        steps,
        iterations,
    } = shape;
    let start = Instant::now();
    let g = cluster.graph();
    let rank_of = |i: usize| (i / workers.max(1)).min(cluster.size() - 1);
    let mut leaves = vec![Vec::new(); cluster.size()];
    let mut row = build(
        pattern,
        width,
        steps,
        |t, i, inputs: &[&Delayed<u64>]| {
            let f = move |v: Refs<'_, &[&Delayed<u64>]>| {
                checksum(t, i, v.into_iter().copied(), kernel(iterations))
            };
            if hints {
                g.on(rank_of(i)).task("point", inputs, f)
            } else {
                g.task("point", inputs, f)
            }
        },
        |j, leaf| leaves[if hints { rank_of(j) } else { 0 }].push(leaf.clone()),
    );
    let last = row.len();
    for (rank, leaves) in leaves.iter().enumerate() {
        if !leaves.is_empty() {
            let placed = g.on(if hints { rank } else { 0 });
            row.push(placed.task("leaves", leaves, |v| fold(v)));
        }
    }
    let sink = g.task("sink", &row, move |v| {
        v.into_iter().take(last).copied().collect::<Vec<u64>>()
    });
    let out = sink.compute_on(executor)?;
    Ok((out, start.elapsed()))
}

/// The points of every step, made by `point(t, i, inputs)` from the points
/// of the step before that `(t, i)` reads, as a user's loop would: the
/// handles it reads are passed by reference, not cloned, and nothing is
/// allocated per point or per step. Each point that no point of the next step reads is
/// handed to `leaf(i, point)` (at the next step). Returns the last step.
fn build<H>(
    pattern: Pattern,
    width: usize,
    steps: usize,
    mut point: impl FnMut(usize, usize, &[&H]) -> H,
    mut leaf: impl FnMut(usize, &H),
) -> Vec<H> {
    let mut row: Vec<H> = Vec::new();
    let mut next: Vec<H> = Vec::new();
    let mut deps = Vec::new();
    let mut read = Vec::new();
    // The buffer of one point's input list, kept from step to step without
    // an allocation per step (one `malloc` and `free` cost more than a
    // point's own work in the multi-rank build, `callgrind`). Its
    // references borrow `row`, which changes every step, so between steps
    // it is an empty `Vec<usize>` (same size and alignment), and a
    // `collect` of no elements turns it into either type in place.
    let mut spare: Vec<usize> = Vec::with_capacity(width);
    for t in 0..steps {
        let mut inputs: Vec<&H> = spare.into_iter().map(|_| unreachable!()).collect();
        read.clear();
        read.resize(row.len(), false);
        for i in 0..pattern.active(t, width) {
            pattern.deps_into(t, i, width, &mut deps);
            inputs.clear();
            for &j in &deps {
                read[j] = true;
                inputs.push(&row[j]);
            }
            next.push(point(t, i, &inputs));
        }
        for (j, _) in read.iter().enumerate().filter(|(_, &read)| !read) {
            leaf(j, &row[j]);
        }
        inputs.clear();
        spare = inputs.into_iter().map(|_| 0).collect();
        std::mem::swap(&mut row, &mut next);
        next.clear();
    }
    row
}

/// The leaves' outputs folded into one value (which the sink drops).
fn fold<'a>(values: impl IntoIterator<Item = &'a u64>) -> u64 {
    values.into_iter().fold(0, |acc, &v| acc ^ v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taskbench::kernel::reference;

    #[test]
    fn one_node_matches_the_sequential_reference() {
        let executor = Executor::builder().workers(2).build().unwrap();
        for pattern in Pattern::ALL {
            for width in [1, 2, 3, 4, 8] {
                let shape = Shape {
                    pattern,
                    width,
                    steps: 9,
                    iterations: 16,
                };
                let (out, _) = run_local(shape, &executor).unwrap();
                assert_eq!(out, reference(pattern, width, 9, 16), "{pattern} {width}");
            }
        }
    }

    /// The points `build` hands to `leaf`: (step, point) of each.
    fn unread(pattern: Pattern, steps: usize, width: usize) -> Vec<(usize, usize)> {
        let mut leaves = Vec::new();
        build(
            pattern,
            width,
            steps,
            |t, i, _| (t, i),
            |_, &p| leaves.push(p),
        );
        leaves
    }

    #[test]
    fn only_tree_has_unread_points() {
        for pattern in Pattern::ALL {
            assert_eq!(
                unread(pattern, 6, 8).is_empty(),
                pattern != Pattern::Tree,
                "{pattern}"
            );
        }
        let at_4: Vec<_> = unread(Pattern::Tree, 6, 8)
            .into_iter()
            .filter(|&(t, _)| t == 4)
            .collect();
        assert_eq!(at_4, [(4, 4), (4, 5), (4, 6), (4, 7)]);
    }

    #[test]
    fn build_passes_each_point_what_it_reads() {
        for pattern in Pattern::ALL {
            let mut seen = Vec::new();
            let last = build(
                pattern,
                5,
                7,
                |t, i, inputs: &[&(usize, usize)]| {
                    seen.push((t, i, inputs.iter().map(|&&(_, j)| j).collect::<Vec<_>>()));
                    (t, i)
                },
                |_, _| {},
            );
            assert_eq!(last.len(), pattern.active(6, 5), "{pattern}");
            for (t, i, inputs) in seen {
                assert_eq!(inputs, pattern.deps(t, i, 5), "{pattern} {t} {i}");
            }
        }
    }
}
