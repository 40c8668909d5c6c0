//! No-op tasks on the five DAG shapes of about a million nodes (chain,
//! binary tree of depth 20, 2^20 independent + sink, 1024 x 1024 wavefront,
//! random), for `delayed`, rayon with per-node counters (plain and inline),
//! the naive pool and the sequential loop, on 1 and 2 workers (more where
//! the machine has them). Build and compute are measured apart: build once
//! per kind of plan (delayed's `Graph`, the counter graph the hand-written
//! schedulers share), compute for every system and worker count, each
//! iteration on a fresh build. Throughput is in tasks.
//!
//! `DELAYED_BENCH_LOG2` sets the size (default 20).

use std::sync::Arc;
use std::time::Duration;

use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use delayed_bench::machine::worker_counts;
use delayed_bench::peers::{no_op, Runner, System};
use delayed_bench::shapes::Shape;

fn log2() -> u32 {
    std::env::var("DELAYED_BENCH_LOG2")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

fn overhead(c: &mut Criterion) {
    let log2 = log2();
    for shape in Shape::ALL {
        let dag = Arc::new(shape.dag(log2));
        let mut group = c.benchmark_group(format!("overhead/{}", shape.name()));
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3))
            .throughput(Throughput::Elements(dag.nodes() as u64));
        // Build: the rayon variants and the naive pool build the same plan.
        for (label, system) in [
            ("delayed", System::Delayed),
            ("counter_graph", System::RayonCounters),
        ] {
            let runner = Runner::new(system, 1);
            group.bench_function(BenchmarkId::new("build", label), |b| {
                b.iter_batched(
                    || (),
                    |()| runner.build(&dag, no_op),
                    BatchSize::PerIteration,
                )
            });
        }
        for workers in worker_counts() {
            for system in System::ALL {
                if !system.is_parallel() && workers != 1 {
                    continue;
                }
                let runner = Runner::new(system, workers);
                let id = BenchmarkId::new(format!("compute/{}", system.name()), workers);
                group.bench_function(id, |b| {
                    b.iter_batched(
                        || runner.build(&dag, no_op),
                        |built| {
                            runner.compute(&built);
                            built // dropped outside the timed region
                        },
                        BatchSize::PerIteration,
                    )
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, overhead);
criterion_main!(benches);
