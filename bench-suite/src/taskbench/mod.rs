//! Task Bench (Slaughter et al., SC'20) on `delayed`: the dependence
//! patterns, a compute-bound kernel, and METG(50%), the minimum effective
//! task granularity, for `delayed` on one node, `delayed::mpi` across ranks,
//! a hand-written MPI floor, and (from `scripts/dask-taskbench.py`) Dask.
//!
//! Layers, bottom-up:
//!
//! - [`pattern`]: the grid of `width` points by `steps` timesteps and which
//!   points of step `t - 1` each point of step `t` reads.
//! - [`kernel`]: the work of one task (a dependent chain of float
//!   operations) and the checksum each task outputs, with the sequential
//!   reference the runs are checked against.
//! - [`sample`]: one measured point of a sweep, as a CSV row; [`sweep`]:
//!   the loop over kernel sizes.
//! - [`metg`]: efficiency against peak, and the 50 % crossing.
//! - `delayed_run` and `mpi_baseline` (feature `mpi`): the systems.
//! - [`report`] and [`plot`]: the table and the SVG of `results/taskbench/`.
//!
//! The binary `taskbench` (feature `mpi`) drives them; `scripts/taskbench.sh`
//! runs the whole comparison.

pub mod kernel;
pub mod metg;
pub mod pattern;
pub mod plot;
pub mod report;
pub mod sample;
pub mod sweep;

#[cfg(feature = "mpi")]
pub mod delayed_run;
#[cfg(feature = "mpi")]
pub mod mpi_baseline;
