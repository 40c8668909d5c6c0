//! `delayed-bench`: the workloads, peers and reporting behind the benchmarks
//! (issue 4) and the executor's spawn/join comparison (issue 2).
//!
//! - [`dag`] and [`shapes`]: task graphs as plain data, in Taskflow's shapes.
//! - [`peers`]: the systems that run them (rayon with counters, the naive
//!   pool, the sequential loop) behind one [`peers::Runner`].
//! - [`dag_overhead`], [`scaling`], [`executor_jobs`]: the measured
//!   workloads, shared by the criterion benches and the `overhead` binary.
//! - [`spin`]: calibrated CPU-bound work for the scaling workload.
//! - [`ready_latency`] and [`alloc_counter`]: what the overhead binary
//!   measures besides time.
//! - [`lesson`]: the lesson's three programs (the examples `dask_delay`,
//!   `dask_loop`, `dask_loop_flow`, their command line) and
//!   [`lesson_child`], one row of the `lesson` table, in a child process.
//! - [`soak_dag`]: the random faulty DAGs of the `soak` binary (issue 7).
//! - [`affinity`], [`machine`], [`published`], [`table`], [`plot`],
//!   [`timing`]: running children on a CPU subset and writing `results/`.
//! - [`cross_cpu`]: the CPUs' cache-line round trip, which the `overhead`
//!   binary checks before each measurement.

pub mod affinity;
pub mod alloc_counter;
pub mod cross_cpu;
pub mod dag;
pub mod dag_overhead;
pub mod executor_jobs;
pub mod lesson;
pub mod lesson_child;
pub mod machine;
pub mod peers;
pub mod plot;
pub mod published;
pub mod ready_latency;
pub mod scaling;
pub mod shapes;
pub mod small_compute;
pub mod soak_dag;
pub mod spin;
pub mod table;
pub mod taskbench;
pub mod timing;
