//! The lesson's first program: two `inc`s and an `add`.
//!
//! ```python
//! x = dask.delayed(inc)(1)
//! y = dask.delayed(inc)(2)
//! z = dask.delayed(add)(x, y)
//! result = z.compute()
//! print("result=" + str(result))
//! ```
//!
//! In Rust (`delayed_bench::lesson::Workload::Delay`):
//!
//! ```ignore
//! let x = g.delayed("inc", move || inc(1, unit));
//! let y = g.delayed("inc", move || inc(2, unit));
//! let z = g.task("add", (&x, &y), move |(x, y)| add(*x, *y, unit));
//! ```
//!
//! Prints `workers=N cpus=...`, `result=5` and `wall clock time:<seconds>s`.
//! Flags: `--serial`, `--lazy`, `--visualize [PATH]`, `--unit-ms N`,
//! `--workers N` (`--help` says more).
//! Diagnostics: `--report` prints the efficiency report (work, critical
//! path, the bound max(work/P, span), efficiency) and what the run would take
//! on 1, 2, 4 … 64 workers; `--trace FILE` writes a Chrome trace (`.json`)
//! or a timeline (`.svg`); a progress bar shows on a terminal
//! (`--no-progress` hides it).

fn main() -> std::process::ExitCode {
    delayed_bench::lesson::main(delayed_bench::lesson::Workload::Delay)
}
