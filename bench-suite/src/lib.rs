//! `delayed-bench`: workloads and peers for the benchmarks (issue 4).
