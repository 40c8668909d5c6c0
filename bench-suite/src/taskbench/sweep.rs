//! A sweep: one graph shape run with kernels of `2^k` iterations, from the
//! largest down, each point measured `runs` times after one warm-up run of
//! the whole sweep's smallest kernel.
//!
//! The sweep stops early once a point's efficiency is below `stop_below` x
//! the best so far (the METG crossing is then behind it), which keeps the
//! slow end of the sweep (where overhead dominates) short. Under MPI every
//! rank gets the same wall times (the slowest rank's), so every rank stops
//! at the same point.

use super::pattern::Pattern;
use super::sample::Sample;
use crate::timing::median;

/// What a sweep runs, and how.
#[derive(Clone, Debug)]
pub struct Plan {
    /// `delayed`, `delayed-mpi` or `mpi`.
    pub system: String,
    /// Ranks of the job.
    pub ranks: usize,
    /// Workers per rank.
    pub workers: usize,
    /// CPUs the efficiency is counted over.
    pub cores: usize,
    /// The pattern.
    pub pattern: Pattern,
    /// Points per step.
    pub width: usize,
    /// Timesteps.
    pub steps: usize,
    /// Kernel iterations, largest first.
    pub iterations: Vec<u64>,
    /// Measured runs per point.
    pub runs: usize,
    /// The calibrated ns per kernel iteration.
    pub ns_per_iteration: f64,
    /// Stop once a point's efficiency is below this fraction of the peak.
    pub stop_below: f64,
}

/// Runs the sweep. `run(iterations)` runs the graph once and returns its
/// wall time in seconds (the slowest rank's) and whether its outputs
/// matched the reference; `each` sees every sample as it is made.
pub fn sweep(
    plan: &Plan,
    mut run: impl FnMut(u64) -> (f64, bool),
    mut each: impl FnMut(&Sample),
) -> Vec<Sample> {
    let mut samples: Vec<Sample> = Vec::new();
    if let Some(&smallest) = plan.iterations.last() {
        run(smallest);
    }
    let tasks = plan.pattern.tasks(plan.width, plan.steps);
    let mut peak: f64 = 0.0;
    for &iterations in &plan.iterations {
        let mut walls = Vec::with_capacity(plan.runs);
        let mut checked = true;
        for _ in 0..plan.runs.max(1) {
            let (wall, ok) = run(iterations);
            walls.push(wall);
            checked &= ok;
        }
        let best = walls.iter().copied().fold(f64::INFINITY, f64::min);
        let kernel_ns = iterations as f64 * plan.ns_per_iteration;
        let efficiency = Sample::efficiency_of(tasks, kernel_ns, best, plan.cores);
        let sample = Sample {
            system: plan.system.clone(),
            ranks: plan.ranks,
            workers: plan.workers,
            cores: plan.cores,
            pattern: plan.pattern.name().to_string(),
            width: plan.width,
            steps: plan.steps,
            iterations,
            tasks,
            kernel_ns,
            wall_s: best,
            wall_s_median: median(&walls),
            runs: walls.len(),
            efficiency,
            checked,
        };
        each(&sample);
        samples.push(sample);
        peak = peak.max(efficiency);
        if efficiency < plan.stop_below * peak {
            break;
        }
    }
    samples
}

/// `2^max_log2, 2^(max_log2 - 1), ..., 2^min_log2`.
///
/// ```
/// assert_eq!(delayed_bench::taskbench::sweep::powers_of_two(4, 2), vec![16, 8, 4]);
/// ```
pub fn powers_of_two(max_log2: u32, min_log2: u32) -> Vec<u64> {
    (min_log2..=max_log2).rev().map(|k| 1u64 << k).collect()
}
