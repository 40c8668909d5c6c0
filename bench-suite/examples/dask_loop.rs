//! The lesson's loop: eight independent `inc`s and their `sum`.
//!
//! ```python
//! dask_result = []
//! for i in [1, 2, 3, 4, 5, 6, 7, 8]:
//!     dask_result.append(dask.delayed(inc)(i))
//! total = dask.delayed(sum)(dask_result)
//! print("total=" + str(total.compute()))
//! ```
//!
//! In Rust (`delayed_bench::lesson::Workload::Loop`):
//!
//! ```ignore
//! let results: Vec<_> = (1..=8).map(|x| g.delayed("inc", move || inc(x, unit))).collect();
//! let total = g.task("sum", &results, |values| values.into_iter().sum::<i64>());
//! ```
//!
//! Prints `workers=N cpus=...`, `total=44` and `wall clock time:<seconds>s`:
//! about 8 s on one CPU, 4 s on two (`srun --cpus-per-task=2`,
//! `taskset -c 0,1`), 2 s on four. Flags: `--serial`, `--lazy`,
//! `--visualize [PATH]`, `--unit-ms N`, `--workers N` (`--help` says more).
//! Diagnostics: `--report` prints the efficiency report (work, critical
//! path, the bound max(work/P, span), efficiency) and what the run would take
//! on 1, 2, 4 … 64 workers; `--trace FILE` writes a Chrome trace (`.json`)
//! or a timeline (`.svg`); a progress bar shows on a terminal
//! (`--no-progress` hides it).

fn main() -> std::process::ExitCode {
    delayed_bench::lesson::main(delayed_bench::lesson::Workload::Loop)
}
