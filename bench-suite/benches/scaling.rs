//! 20,000 CPU-bound tasks of about 50 µs each and a sink, on 1..N workers
//! (N = the CPUs this process may use), for `delayed` and its parallel
//! peers, with the sequential loop as the base. Iterations take about a
//! second; speedup = sequential time / time. The `overhead` binary prints
//! speedup and efficiency directly.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use delayed_bench::affinity::allowed_cpus;
use delayed_bench::peers::{Runner, System};
use delayed_bench::scaling::{Scaling, TASKS, TASK_TIME};

fn scaling(c: &mut Criterion) {
    let workload = Scaling::new(TASKS, TASK_TIME);
    let mut group = c.benchmark_group("scaling");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(12));
    let sequential = Runner::new(System::Sequential, 1);
    let built = sequential.build(workload.dag(), workload.task());
    group.bench_function("sequential", |b| b.iter(|| sequential.compute(&built)));
    for system in System::ALL.into_iter().filter(|s| s.is_parallel()) {
        for workers in 1..=allowed_cpus().len() {
            let runner = Runner::new(system, workers);
            let built = runner.build(workload.dag(), workload.task());
            group.bench_function(BenchmarkId::new(system.name(), workers), |b| {
                b.iter(|| runner.compute(&built))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, scaling);
criterion_main!(benches);
