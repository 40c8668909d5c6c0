//! The lesson's three programs (`delay`, `loop`, `loop_flow`) x {serial, 1,
//! 2, 4 workers}: graph build + compute, as the lesson times them. Tasks
//! sleep `DELAYED_BENCH_UNIT_MS` milliseconds (default 10, so that the suite
//! stays well under 15 minutes on 2 cores; 1000 is the lesson's). Flat
//! sampling, 10 samples, the measuring time scaled to the iteration, so that
//! 1-second-scale iterations run as they are.
//!
//! Where the machine has fewer CPUs than workers, the workers share the
//! CPUs there are (sleeping tasks need none).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use delayed::{Executor, Graph};
use delayed_bench::lesson::Workload;

fn unit() -> Duration {
    let ms = std::env::var("DELAYED_BENCH_UNIT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    Duration::from_millis(ms)
}

fn lesson(c: &mut Criterion) {
    let unit = unit();
    for workload in Workload::ALL {
        let mut group = c.benchmark_group(format!("lesson/{}", workload.name()));
        // Ten samples of one iteration each at the serial length, the
        // longest of the four.
        let longest = workload.ideal(1, unit).max(Duration::from_millis(1));
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(longest)
            .measurement_time(longest * 10);
        group.bench_function("serial", |b| b.iter(|| workload.serial(unit)));
        for workers in [1, 2, 4] {
            let ex = Executor::builder()
                .workers(workers)
                .build()
                .expect("executor starts");
            group.bench_function(BenchmarkId::new("delayed", workers), |b| {
                b.iter(|| {
                    let g = Graph::new();
                    workload
                        .build(&g, unit)
                        .compute_on(&ex)
                        .expect("lesson tasks do not fail")
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, lesson);
criterion_main!(benches);
