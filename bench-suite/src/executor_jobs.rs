//! The executor benchmarks of issue 2, for `delayed-executor` and rayon side
//! by side: spawning and running a million empty jobs in a scope, and a
//! `join` recursion over a binary tree of 2^20 leaves.
//!
//! Both systems get the same shape of code: the spawning loop runs on a
//! worker (`scope` enters the pool first), and the recursion starts on a
//! worker too (`rayon::ThreadPool::install`, and `Executor::join`'s own
//! entry).

use std::hint::black_box;
use std::time::Instant;

use delayed_executor::Executor;
use rayon::ThreadPool;

/// Jobs spawned by the spawn benchmark.
pub const SPAWN_JOBS: usize = 1_000_000;

/// Depth of the join recursion: `2^JOIN_DEPTH` leaves, `2^JOIN_DEPTH - 1`
/// joins.
pub const JOIN_DEPTH: u32 = 20;

/// Spawns `jobs` empty jobs in one scope of `ex`; returns when all have run.
pub fn spawn_delayed(ex: &Executor, jobs: usize) {
    ex.scope(|s| {
        for i in 0..jobs {
            s.spawn(move |_| {
                black_box(i);
            });
        }
    });
}

/// The same on a rayon pool.
pub fn spawn_rayon(pool: &ThreadPool, jobs: usize) {
    pool.scope(|s| {
        for i in 0..jobs {
            s.spawn(move |_| {
                black_box(i);
            });
        }
    });
}

/// A binary `join` recursion of `depth` levels on `ex`; returns the number
/// of leaves (`2^depth`), counted the long way so that nothing is skipped.
pub fn join_delayed(ex: &Executor, depth: u32) -> u64 {
    if depth == 0 {
        return black_box(1);
    }
    let (a, b) = ex.join(
        || join_delayed(ex, depth - 1),
        || join_delayed(ex, depth - 1),
    );
    a + b
}

/// The same with `rayon::join`, on `pool`.
pub fn join_rayon(pool: &ThreadPool, depth: u32) -> u64 {
    fn tree(depth: u32) -> u64 {
        if depth == 0 {
            return black_box(1);
        }
        let (a, b) = rayon::join(|| tree(depth - 1), || tree(depth - 1));
        a + b
    }
    pool.install(|| tree(depth))
}

/// The two systems of the comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobSystem {
    /// `delayed-executor`.
    Delayed,
    /// rayon-core.
    Rayon,
}

/// The two workloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobWorkload {
    /// [`SPAWN_JOBS`] empty jobs in a scope.
    Spawn,
    /// A join recursion of [`JOIN_DEPTH`] levels.
    Join,
}

impl JobWorkload {
    /// The table name.
    pub fn name(self) -> &'static str {
        match self {
            JobWorkload::Spawn => "spawn 1M empty jobs (scope)",
            JobWorkload::Join => "join tree, 2^20 leaves",
        }
    }

    /// What "a job" is, per workload, for the ns-per-job figure.
    pub fn jobs(self) -> usize {
        match self {
            JobWorkload::Spawn => SPAWN_JOBS,
            JobWorkload::Join => 1 << JOIN_DEPTH,
        }
    }
}

/// A started pool of either system.
pub enum JobPool {
    /// `delayed-executor`, unpinned or pinned as built.
    Delayed(Executor),
    /// rayon.
    Rayon(ThreadPool),
}

impl JobPool {
    /// Starts `system` with `workers` threads.
    pub fn new(system: JobSystem, workers: usize) -> Self {
        match system {
            JobSystem::Delayed => JobPool::Delayed(
                Executor::builder()
                    .workers(workers)
                    .build()
                    .expect("executor starts"),
            ),
            JobSystem::Rayon => JobPool::Rayon(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(workers)
                    .build()
                    .expect("rayon pool starts"),
            ),
        }
    }

    /// The name the tables print.
    pub fn name(&self) -> &'static str {
        match self {
            JobPool::Delayed(_) => "delayed-executor",
            JobPool::Rayon(_) => "rayon",
        }
    }

    /// Runs `workload` once.
    pub fn run(&self, workload: JobWorkload) {
        match (self, workload) {
            (JobPool::Delayed(ex), JobWorkload::Spawn) => spawn_delayed(ex, SPAWN_JOBS),
            (JobPool::Rayon(pool), JobWorkload::Spawn) => spawn_rayon(pool, SPAWN_JOBS),
            (JobPool::Delayed(ex), JobWorkload::Join) => {
                assert_eq!(join_delayed(ex, JOIN_DEPTH), 1 << JOIN_DEPTH);
            }
            (JobPool::Rayon(pool), JobWorkload::Join) => {
                assert_eq!(join_rayon(pool, JOIN_DEPTH), 1 << JOIN_DEPTH);
            }
        }
    }

    /// Runs `workload` once and returns nanoseconds per job.
    pub fn ns_per_job(&self, workload: JobWorkload) -> f64 {
        let start = Instant::now();
        self.run(workload);
        start.elapsed().as_nanos() as f64 / workload.jobs() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_systems_run_both_workloads() {
        for system in [JobSystem::Delayed, JobSystem::Rayon] {
            let pool = JobPool::new(system, 2);
            match &pool {
                JobPool::Delayed(ex) => {
                    spawn_delayed(ex, 10_000);
                    assert_eq!(join_delayed(ex, 10), 1024);
                }
                JobPool::Rayon(p) => {
                    spawn_rayon(p, 10_000);
                    assert_eq!(join_rayon(p, 10), 1024);
                }
            }
        }
    }
}
