//! Issue 2's executor benchmarks: spawning and running 1M empty jobs in a
//! scope, and a `join` recursion over a binary tree of 2^20 leaves, for
//! `delayed-executor` and rayon in the same run, on 1 and 2 workers (and
//! more where the machine has them). Throughput is in jobs (spawn) and
//! leaves (join); ns per job = 1e9 / throughput.

use std::time::Duration;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use delayed_bench::executor_jobs::{JobPool, JobSystem, JobWorkload};
use delayed_bench::machine::worker_counts;

fn executor(c: &mut Criterion) {
    for (group_name, workload) in [
        ("spawn_1M", JobWorkload::Spawn),
        ("join_2^20", JobWorkload::Join),
    ] {
        let mut group = c.benchmark_group(group_name);
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3))
            .throughput(Throughput::Elements(workload.jobs() as u64));
        for workers in worker_counts() {
            for system in [JobSystem::Delayed, JobSystem::Rayon] {
                let pool = JobPool::new(system, workers);
                group.bench_function(BenchmarkId::new(pool.name(), workers), |b| {
                    b.iter(|| pool.run(workload))
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, executor);
criterion_main!(benches);
