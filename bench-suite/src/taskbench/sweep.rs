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
    each: impl FnMut(&Sample),
) -> Vec<Sample> {
    let plans = std::slice::from_ref(plan);
    let mut samples = sweep_alternating(plans, |_, iterations| run(iterations), each);
    samples.pop().unwrap_or_default()
}

/// Runs the sweeps of several systems together (their plans share the
/// pattern and the kernel sizes): at each kernel size, their runs
/// alternate, run 1 of each, then run 2 of each, so that a slow minute of
/// a shared machine hits them alike and their ratio is measured in the
/// same minutes. `run(s, iterations)` runs system `s` (an index into
/// `plans`) once, as in [`sweep`]. A system whose efficiency falls below
/// its `stop_below` x its peak stops there; the others go on. Returns
/// each system's samples, in the order of `plans`.
///
/// ```
/// use delayed_bench::taskbench::pattern::Pattern;
/// use delayed_bench::taskbench::sweep::{sweep_alternating, Plan};
///
/// let plan = |system: &str| Plan {
///     system: system.into(), ranks: 1, workers: 1, cores: 1,
///     pattern: Pattern::Stencil1d, width: 1, steps: 10,
///     iterations: vec![4, 2, 1], runs: 2, ns_per_iteration: 1.0, stop_below: 0.2,
/// };
/// let mut order = Vec::new();
/// let samples = sweep_alternating(&[plan("a"), plan("b")], |s, it| {
///     order.push((s, it));
///     (1e-6, true)
/// }, |_| {});
/// // A warm-up each, then the runs of each size alternate.
/// assert_eq!(&order[..6], &[(0, 1), (1, 1), (0, 4), (1, 4), (0, 4), (1, 4)]);
/// assert_eq!((samples[0].len(), samples[1][0].system.as_str()), (3, "b"));
/// ```
pub fn sweep_alternating(
    plans: &[Plan],
    mut run: impl FnMut(usize, u64) -> (f64, bool),
    mut each: impl FnMut(&Sample),
) -> Vec<Vec<Sample>> {
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); plans.len()];
    let Some(first) = plans.first() else {
        return samples;
    };
    if let Some(&smallest) = first.iterations.last() {
        for s in 0..plans.len() {
            run(s, smallest);
        }
    }
    let mut peaks = vec![0.0f64; plans.len()];
    let mut going = vec![true; plans.len()];
    for &iterations in &first.iterations {
        let mut walls = vec![Vec::new(); plans.len()];
        let mut checked = vec![true; plans.len()];
        for _ in 0..first.runs.max(1) {
            for s in (0..plans.len()).filter(|&s| going[s]) {
                let (wall, ok) = run(s, iterations);
                walls[s].push(wall);
                checked[s] &= ok;
            }
        }
        for s in 0..plans.len() {
            if !going[s] {
                continue;
            }
            let sample = sample_of(&plans[s], iterations, &walls[s], checked[s]);
            each(&sample);
            peaks[s] = peaks[s].max(sample.efficiency);
            going[s] = sample.efficiency >= plans[s].stop_below * peaks[s];
            samples[s].push(sample);
        }
        if !going.contains(&true) {
            break;
        }
    }
    samples
}

/// The sample of `plan` at `iterations` from its runs' wall times.
fn sample_of(plan: &Plan, iterations: u64, walls: &[f64], checked: bool) -> Sample {
    let tasks = plan.pattern.tasks(plan.width, plan.steps);
    let best = walls.iter().copied().fold(f64::INFINITY, f64::min);
    let kernel_ns = iterations as f64 * plan.ns_per_iteration;
    Sample {
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
        wall_s_median: median(walls),
        runs: walls.len(),
        efficiency: Sample::efficiency_of(tasks, kernel_ns, best, plan.cores),
        checked,
    }
}

/// `2^max_log2, 2^(max_log2 - 1), ..., 2^min_log2`.
///
/// ```
/// assert_eq!(delayed_bench::taskbench::sweep::powers_of_two(4, 2), vec![16, 8, 4]);
/// ```
pub fn powers_of_two(max_log2: u32, min_log2: u32) -> Vec<u64> {
    (min_log2..=max_log2).rev().map(|k| 1u64 << k).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(system: &str) -> Plan {
        Plan {
            system: system.into(),
            ranks: 1,
            workers: 1,
            cores: 1,
            pattern: Pattern::Stencil1d,
            width: 1,
            steps: 10,
            iterations: vec![64, 32, 16, 8, 4],
            runs: 3,
            ns_per_iteration: 1.0,
            stop_below: 0.2,
        }
    }

    /// The wall time that gives `efficiency` at `iterations` (`plan`'s
    /// 10 tasks on 1 core).
    fn wall(iterations: u64, efficiency: f64) -> f64 {
        10.0 * iterations as f64 * 1e-9 / efficiency
    }

    #[test]
    fn each_system_stops_at_its_own_crossing_and_the_other_goes_on() {
        let mut runs = vec![Vec::new(); 2];
        let samples = sweep_alternating(
            &[plan("falls"), plan("holds")],
            |s, iterations| {
                runs[s].push(iterations);
                // "falls": 0.9 at 64, then 0.1 (below 0.2 x 0.9) at 32.
                let efficiency = match (s, iterations) {
                    (0, 64) => 0.9,
                    (0, _) => 0.1,
                    _ => 0.8,
                };
                (wall(iterations, efficiency), true)
            },
            |_| {},
        );
        let sizes = |s: usize| samples[s].iter().map(|x| x.iterations).collect::<Vec<_>>();
        assert_eq!(sizes(0), [64, 32]);
        assert_eq!(sizes(1), [64, 32, 16, 8, 4]);
        // A warm-up at the smallest size, then 3 runs per size swept.
        assert_eq!(runs[0], [4, 64, 64, 64, 32, 32, 32]);
        assert_eq!(runs[1].len(), 1 + 3 * 5);
        assert!((samples[0][0].efficiency - 0.9).abs() < 1e-9);
        assert_eq!(samples[1][4].system, "holds");
    }

    #[test]
    fn the_best_run_sets_the_efficiency_and_a_mismatch_is_kept() {
        let mut n = 0;
        let samples = sweep(
            &plan("one"),
            |iterations| {
                n += 1;
                // Runs 0.25, 0.5 and 0.4 efficient; the third mismatches.
                let efficiency = [0.25, 0.5, 0.4][n % 3];
                (wall(iterations, efficiency), n % 3 != 0)
            },
            |_| {},
        );
        assert_eq!(samples.len(), 5);
        assert!(samples.iter().all(|s| (s.efficiency - 0.5).abs() < 1e-9));
        assert!(samples.iter().all(|s| !s.checked));
        assert!((samples[0].wall_s_median - wall(64, 0.4)).abs() < 1e-15);
    }
}
