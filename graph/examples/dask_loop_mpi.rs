//! The lesson's loop across the ranks of an MPI job: eight `inc`s of one
//! unit each (1 s, as in the lesson) spread over the ranks, and their `sum`.
//!
//! ```sh
//! cargo build --release -p delayed --features mpi --example dask_loop_mpi
//! mpirun -np 4 target/release/examples/dask_loop_mpi              # a workstation
//! srun -n 4 --cpus-per-task=1 --mpi=pmix target/release/examples/dask_loop_mpi
//! ```
//!
//! Rank 0 prints `ranks=N workers=W`, `total=44` and `wall clock time:<seconds>s`:
//! about 8 s on one rank, 4 s on two, 2 s on four. `--unit-ms N` sets the
//! unit; `--placement` prints which rank ran each task; `--report` prints
//! the efficiency report of the run over all the ranks' workers and what it
//! would take on other worker counts; `--trace FILE` writes a Chrome trace
//! (`.json`, one process per rank) or a timeline (`.svg`).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use delayed::mpi::{Cluster, ComputeOptions};
use delayed::{Executor, WHAT_IF_WORKERS};

/// The lesson's `inc`: one unit of work (a sleep), then `x + 1`.
fn inc(x: i64, unit: Duration) -> i64 {
    std::thread::sleep(unit);
    x + 1
}

fn main() -> ExitCode {
    let mut unit = Duration::from_secs(1);
    let mut show_placement = false;
    let mut report = false;
    let mut trace = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--unit-ms" => match args.next().and_then(|v| v.parse::<u64>().ok()) {
                Some(ms) => unit = Duration::from_millis(ms),
                None => {
                    eprintln!("dask_loop_mpi: --unit-ms needs a whole number of milliseconds");
                    return ExitCode::from(2);
                }
            },
            "--placement" => show_placement = true,
            "--report" => report = true,
            "--trace" => match args.next() {
                Some(path) => trace = Some(path),
                None => {
                    eprintln!("dask_loop_mpi: --trace needs a file (.json or .svg)");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!(
                    "usage: dask_loop_mpi [--unit-ms N] [--placement] [--report] [--trace FILE]"
                );
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("dask_loop_mpi: unknown argument {other:?} (try --help)");
                return ExitCode::from(2);
            }
        }
    }
    match run(unit, show_placement, report, trace) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("dask_loop_mpi: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(
    unit: Duration,
    show_placement: bool,
    report: bool,
    trace: Option<String>,
) -> Result<(), Box<dyn std::error::Error>> {
    let cluster = Cluster::init()?;
    let workers = Executor::global()?.workers();
    let here = cluster.rank();
    let g = cluster.graph();
    let results: Vec<_> = (1..=8)
        .map(|x| g.delayed("inc", move || (inc(x, unit), here)))
        .collect();
    let total = g.task("sum", &results, |values| {
        values.into_iter().map(|(v, _)| v).sum::<i64>()
    });
    let ranks = g.task("ranks", &results, |values| {
        values.into_iter().map(|&(_, r)| r).collect::<Vec<_>>()
    });
    let start = Instant::now();
    let options = ComputeOptions::new().profile(report || trace.is_some());
    let out = delayed::mpi::compute_with((&total, &ranks), &options)?;
    let wall = start.elapsed();
    let (total, ranks) = out.value;
    if here == 0 {
        println!("ranks={} workers={workers}", cluster.size());
        if show_placement {
            println!("inc ran on ranks {ranks:?}");
        }
        println!("total={total}");
        println!("wall clock time:{:.3}s", wall.as_secs_f64());
        if let Some(profile) = out.profile {
            if report {
                println!("{}", profile.efficiency());
                println!("{}", profile.what_if(&WHAT_IF_WORKERS));
            }
            if let Some(path) = trace {
                profile.write_trace(&path)?;
                println!("trace written to {path}");
            }
        }
    }
    Ok(())
}
