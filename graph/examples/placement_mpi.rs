//! Placement learnt from a profile, on a workload the default placement
//! cannot guess: a loop of tasks whose durations grow tenfold from the
//! first to the last (1 to 10 units), summed. The default placement cuts
//! the loop into equal blocks, so the last rank gets the longest tasks.
//!
//! ```sh
//! cargo build --release -p delayed --features mpi --example placement_mpi
//! DELAYED_NUM_WORKERS=1 mpirun -np 2 target/release/examples/placement_mpi
//! ```
//!
//! Rank 0 prints the time with the default placement, the critical-path
//! bound `max(work / P, span)` of that run, the placement list scheduling
//! finds from its profile with its predicted time, the time measured on
//! it, how much of the gap to the bound it closed, and how far the
//! prediction was off. `--tasks N` (default 24), `--unit-ms N` (default 5),
//! `--edge-us N` (the cost of a cross-rank edge the scheduler assumes,
//! default 20), `--runs N` (each placement computed N times, the median
//! kept; default 5).

use std::process::ExitCode;
use std::time::Duration;

use delayed::mpi::{Cluster, ComputeOptions, Placement};

fn main() -> ExitCode {
    let mut tasks = 24u64;
    let mut unit_ms = 5u64;
    let mut edge_us = 20u64;
    let mut runs = 5usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().and_then(|v| v.parse::<u64>().ok());
        match (arg.as_str(), value) {
            ("--tasks", Some(n)) if n >= 2 => tasks = n,
            ("--unit-ms", Some(n)) if n >= 1 => unit_ms = n,
            ("--edge-us", Some(n)) => edge_us = n,
            ("--runs", Some(n)) if n >= 1 => runs = n as usize,
            _ => {
                eprintln!(
                    "usage: placement_mpi [--tasks N>=2] [--unit-ms N>=1] [--edge-us N] [--runs N>=1]"
                );
                return ExitCode::from(2);
            }
        }
    }
    match run(tasks, unit_ms, edge_us, runs) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("placement_mpi: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The median of `values`.
fn median(mut values: Vec<Duration>) -> Duration {
    values.sort_unstable();
    values[values.len() / 2]
}

fn run(
    tasks: u64,
    unit_ms: u64,
    edge_us: u64,
    runs: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let cluster = Cluster::init()?;
    let g = cluster.graph();
    let xs: Vec<_> = (0..tasks)
        .map(|i| {
            // 1 unit for the first task, 10 for the last, linearly between.
            let micros = unit_ms * 1000 * (tasks - 1 + 9 * i) / (tasks - 1);
            g.delayed("work", move || {
                std::thread::sleep(Duration::from_micros(micros));
                i
            })
        })
        .collect();
    let total = g.task("sum", &xs, |v| v.into_iter().sum::<u64>());
    let profiled = ComputeOptions::new().profile(true);

    // The default placement, measured `runs` times; its last profile kept.
    let mut walls = Vec::new();
    let mut profile = None;
    for _ in 0..runs {
        let out = total.compute_with(&profiled)?;
        assert_eq!(out.value, tasks * (tasks - 1) / 2);
        let p = out.profile.expect("asked for");
        walls.push(p.wall());
        profile = Some(p);
    }
    let profile = profile.expect("at least one run");
    let default = median(walls);
    let report = profile.efficiency();
    let bound = report.bound();

    // The placement learnt from it, measured the same way.
    let placement = Placement::from_profile(&profile, Duration::from_micros(edge_us));
    let options = ComputeOptions::new().profile(true).placement(&placement);
    let mut walls = Vec::new();
    for _ in 0..runs {
        let out = total.compute_with(&options)?;
        assert_eq!(out.value, tasks * (tasks - 1) / 2);
        walls.push(out.profile.expect("asked for").wall());
    }
    let learnt = median(walls);

    if cluster.rank() == 0 {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{tasks} tasks of {unit_ms}-{} ms on {} rank(s), {} worker(s) in all; medians of {runs} runs",
            unit_ms * 10,
            cluster.size(),
            profile.workers()
        );
        println!("default placement     {:>9.3} ms", ms(default));
        println!(
            "bound max(T1/P, T∞)   {:>9.3} ms  (work {:.3} ms, span {:.3} ms)",
            ms(bound),
            ms(report.work()),
            ms(report.span())
        );
        println!("{placement}");
        println!("learnt placement      {:>9.3} ms", ms(learnt));
        println!(
            "predicted             {:>9.3} ms",
            ms(placement.predicted())
        );
        let gap = ms(default) - ms(bound);
        if gap > 0.0 {
            println!(
                "gap to the bound closed {:>6.1} %",
                100.0 * (ms(default) - ms(learnt)) / gap
            );
        }
        println!(
            "prediction off by       {:>6.1} %",
            100.0 * (ms(learnt) - ms(placement.predicted())).abs() / ms(learnt)
        );
    }
    Ok(())
}
