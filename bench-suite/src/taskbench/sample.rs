//! One measured point of a sweep (a system, a configuration, a pattern and
//! an iteration count), as a row of `results/taskbench/raw.csv`.
//!
//! The Rust runs and `scripts/dask-taskbench.py` write the same columns, so
//! the report reads both alike.

use std::fmt::Write as _;

/// The header of the raw CSV, matching [`Sample::csv_row`].
pub const CSV_HEADER: &str = "system,ranks,workers,cores,pattern,width,steps,iterations,\
                              tasks,kernel_ns,wall_s,wall_s_median,runs,efficiency,checked";

/// One sweep point: the best of `runs` runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// `delayed`, `delayed-mpi`, `mpi` or `dask`.
    pub system: String,
    /// MPI ranks (worker processes for Dask).
    pub ranks: usize,
    /// Workers (threads) per rank.
    pub workers: usize,
    /// The CPUs the efficiency is counted over: `min(ranks x workers, CPUs)`.
    pub cores: usize,
    /// Task Bench's name of the pattern.
    pub pattern: String,
    /// Points per step.
    pub width: usize,
    /// Timesteps.
    pub steps: usize,
    /// Kernel iterations per task.
    pub iterations: u64,
    /// Tasks in the graph (the sink that gathers the last step not counted).
    pub tasks: usize,
    /// One kernel's time alone: `iterations x` the calibrated ns/iteration.
    pub kernel_ns: f64,
    /// The fastest run's wall time (the slowest rank's, after a barrier).
    pub wall_s: f64,
    /// The median run's wall time.
    pub wall_s_median: f64,
    /// Runs measured (after one warm-up).
    pub runs: usize,
    /// Useful work over wall time x cores: `tasks x kernel_ns / (wall_s x
    /// cores)`.
    pub efficiency: f64,
    /// Whether the last step's outputs matched the sequential reference.
    pub checked: bool,
}

impl Sample {
    /// Useful work over the CPU time available.
    ///
    /// ```
    /// let e = delayed_bench::taskbench::sample::Sample::efficiency_of(10, 100.0, 1e-6, 2);
    /// assert!((e - 0.5).abs() < 1e-9);
    /// ```
    pub fn efficiency_of(tasks: usize, kernel_ns: f64, wall_s: f64, cores: usize) -> f64 {
        tasks as f64 * kernel_ns * 1e-9 / (wall_s * cores as f64)
    }

    /// The row, in the columns of [`CSV_HEADER`].
    pub fn csv_row(&self) -> String {
        let mut s = String::new();
        let _ = write!(
            s,
            "{},{},{},{},{},{},{},{},{},{:.1},{:.6},{:.6},{},{:.4},{}",
            self.system,
            self.ranks,
            self.workers,
            self.cores,
            self.pattern,
            self.width,
            self.steps,
            self.iterations,
            self.tasks,
            self.kernel_ns,
            self.wall_s,
            self.wall_s_median,
            self.runs,
            self.efficiency,
            self.checked
        );
        s
    }

    /// Parses a row of [`CSV_HEADER`]'s columns; `None` for the header, a
    /// comment (`#`) or a malformed line.
    ///
    /// ```
    /// use delayed_bench::taskbench::sample::Sample;
    /// let row = "mpi,2,1,2,fft,2,1000,64,2000,80.0,0.01,0.011,3,0.8,true";
    /// let s = Sample::parse(row).unwrap();
    /// assert_eq!((s.system.as_str(), s.iterations, s.checked), ("mpi", 64, true));
    /// assert_eq!(s.csv_row().split(',').count(), 15);
    /// ```
    pub fn parse(line: &str) -> Option<Sample> {
        let f: Vec<&str> = line.trim().split(',').collect();
        if f.len() != 15 || line.starts_with('#') {
            return None;
        }
        Some(Sample {
            system: f[0].to_string(),
            ranks: f[1].parse().ok()?,
            workers: f[2].parse().ok()?,
            cores: f[3].parse().ok()?,
            pattern: f[4].to_string(),
            width: f[5].parse().ok()?,
            steps: f[6].parse().ok()?,
            iterations: f[7].parse().ok()?,
            tasks: f[8].parse().ok()?,
            kernel_ns: f[9].parse().ok()?,
            wall_s: f[10].parse().ok()?,
            wall_s_median: f[11].parse().ok()?,
            runs: f[12].parse().ok()?,
            efficiency: f[13].parse().ok()?,
            checked: f[14].parse().ok()?,
        })
    }

    /// The configuration, as the tables name it: `2 ranks x 1 worker`.
    pub fn config(&self) -> String {
        config_name(self.ranks, self.workers, self.cores)
    }
}

/// `R rank(s) x W worker(s)`, with `(oversubscribed)` when there are more
/// workers than `cores`.
///
/// ```
/// use delayed_bench::taskbench::sample::config_name;
/// assert_eq!(config_name(4, 1, 2), "4 ranks x 1 worker (oversubscribed)");
/// ```
pub fn config_name(ranks: usize, workers: usize, cores: usize) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    format!(
        "{ranks} rank{} x {workers} worker{}{}",
        plural(ranks),
        plural(workers),
        if ranks * workers > cores {
            " (oversubscribed)"
        } else {
            ""
        }
    )
}
