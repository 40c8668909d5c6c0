//! What profiling costs per task: a chain of N tasks (default 1,000,000)
//! computed plainly and with `ComputeOptions::profile(true)`, alternating,
//! several times; prints the medians in nanoseconds per task.
//!
//! ```text
//! cargo run --release -p delayed --example profile_cost -- [N] [RUNS]
//! ```
//!
//! The profiled time includes everything the caller waits for: planning the
//! run a second time (for the recorder's size and the tasks' names and
//! inputs), the run with three clock reads per task, and building the
//! `Profile` (names interned, inputs copied).

use std::time::{Duration, Instant};

use delayed::{ComputeOptions, Executor, Graph};

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort_unstable();
    xs[xs.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let runs: usize = args.next().map_or(Ok(7), |a| a.parse())?;
    let ex = Executor::builder().workers(2).build()?;
    let g = Graph::new();
    let mut last = g.delayed("inc", || 0u64);
    for _ in 1..n {
        last = g.task("inc", &last, |v| v + 1);
    }
    let profiled = ComputeOptions::new().executor(&ex).profile(true);
    let (mut plain, mut with_profile, mut analyse) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let start = Instant::now();
        assert_eq!(last.compute_on(&ex)?, n as u64 - 1);
        plain.push(start.elapsed());

        let start = Instant::now();
        let out = last.compute_with(&profiled)?;
        with_profile.push(start.elapsed());
        assert_eq!(out.value, n as u64 - 1);

        let profile = out.profile.expect("asked for");
        let start = Instant::now();
        let report = profile.efficiency();
        assert_eq!(report.critical_path().len(), n);
        analyse.push(start.elapsed());
    }
    let per_task = |d: Duration| d.as_nanos() as f64 / n as f64;
    let (plain, with_profile, analyse) = (median(plain), median(with_profile), median(analyse));
    println!("chain of {n} tasks, median of {runs} runs each");
    println!("  plain compute_on        {:8.1} ns/task", per_task(plain));
    println!(
        "  compute_with(profile)   {:8.1} ns/task",
        per_task(with_profile)
    );
    println!(
        "  profiling costs         {:8.1} ns/task",
        per_task(with_profile) - per_task(plain)
    );
    println!(
        "  efficiency report       {:8.1} ns/task (afterwards, on demand)",
        per_task(analyse)
    );
    Ok(())
}
