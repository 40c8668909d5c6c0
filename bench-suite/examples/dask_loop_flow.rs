//! The lesson's loop with flow control: `double` the even numbers, `inc`
//! the odd ones, then `sum`.
//!
//! ```python
//! results = []
//! for x in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]:
//!     if is_even(x):
//!         y = dask.delayed(double)(x)
//!     else:
//!         y = dask.delayed(inc)(x)
//!     results.append(y)
//! total = dask.delayed(sum)(results)
//! print("total=" + str(total.compute()))
//! ```
//!
//! In Rust (`delayed_bench::lesson::Workload::LoopFlow`), the branch decides which
//! task to build:
//!
//! ```ignore
//! let results: Vec<_> = (1..=10)
//!     .map(|x| if is_even(x) {
//!         g.delayed("double", move || double(x, unit))
//!     } else {
//!         g.delayed("inc", move || inc(x, unit))
//!     })
//!     .collect();
//! let total = g.task("sum", &results, |values| values.into_iter().sum::<i64>());
//! ```
//!
//! Prints `workers=N cpus=...`, `total=90` and `wall clock time:<seconds>s`.
//! Flags: `--serial`, `--lazy`, `--visualize [PATH]`, `--unit-ms N`,
//! `--workers N` (`--help` says more).
//! Diagnostics: `--report` prints the efficiency report (work, critical
//! path, the bound max(work/P, span), efficiency) and what the run would take
//! on 1, 2, 4 … 64 workers; `--trace FILE` writes a Chrome trace (`.json`)
//! or a timeline (`.svg`); a progress bar shows on a terminal
//! (`--no-progress` hides it).

fn main() -> std::process::ExitCode {
    delayed_bench::lesson::main(delayed_bench::lesson::Workload::LoopFlow)
}
