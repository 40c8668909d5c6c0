//! The command line shared by the lesson's example programs.

use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;

use super::Workload;
use crate::{Executor, Graph};

/// The flags of the lesson's programs (`dask_delay`, `dask_loop`, `dask_loop_flow`).
///
/// ```
/// use clap::Parser as _;
/// use delayed::lesson::{Cli, Workload};
///
/// let cli = Cli::try_parse_from(["dask_loop", "--unit-ms", "1", "--workers", "2"])?;
/// let report = cli.run(Workload::Loop)?;
/// assert_eq!(report.result, Some(44));
/// assert_eq!(report.workers, 2);
/// assert!(report.to_string().starts_with("workers=2 cpus="));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Parser, Clone, Debug, PartialEq, Eq)]
#[command(about = "One of the lesson \"Dask Delayed\"'s programs, on the delayed executor")]
pub struct Cli {
    /// Run the plain loop, without a graph (the lesson's serial version).
    #[arg(long)]
    pub serial: bool,
    /// Build the graph but do not compute it.
    #[arg(long, conflicts_with = "serial")]
    pub lazy: bool,
    /// Write the graph's picture (after the timing) to PATH: .dot, or
    /// .png/.svg/.pdf through Graphviz.
    #[arg(
        long,
        value_name = "PATH",
        num_args = 0..=1,
        default_missing_value = "mydask.png",
        conflicts_with = "serial"
    )]
    pub visualize: Option<PathBuf>,
    /// How long each task sleeps, in milliseconds (the lesson's: 1000).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub unit_ms: u64,
    /// Number of workers. Default: DELAYED_NUM_WORKERS if set, else the
    /// fewest of the CPUs this process may run on, SLURM_CPUS_PER_TASK and
    /// the cgroup CPU quota.
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
}

/// What a lesson program prints: the workers and their CPUs, the result
/// (unless lazy) and the wall-clock time.
///
/// Its `Display` is the programs' output, one line each, in the order the
/// Slurm sweep script reads them:
///
/// ```text
/// workers=2 cpus=0,1
/// total=44
/// wall clock time:4.004123s
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Workers that ran the tasks (1 for `--serial`).
    pub workers: usize,
    /// CPU ids of the process's affinity mask.
    pub cpus: Vec<usize>,
    /// The lesson's word for the result: `result` or `total`.
    pub label: &'static str,
    /// The result; `None` for `--lazy`.
    pub result: Option<i64>,
    /// Time to build and compute the graph (or to run the loop).
    pub wall: Duration,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cpus: Vec<String> = self.cpus.iter().map(usize::to_string).collect();
        writeln!(f, "workers={} cpus={}", self.workers, cpus.join(","))?;
        if let Some(result) = self.result {
            writeln!(f, "{}={result}", self.label)?;
        }
        write!(f, "wall clock time:{:.6}s", self.wall.as_secs_f64())
    }
}

impl Cli {
    /// The task length given by `--unit-ms`.
    ///
    /// ```
    /// use clap::Parser as _;
    /// let cli = delayed::lesson::Cli::parse_from(["dask_delay"]);
    /// assert_eq!(cli.unit(), delayed::lesson::UNIT);
    /// ```
    pub fn unit(&self) -> Duration {
        Duration::from_millis(self.unit_ms)
    }

    /// The executor of `--workers`, else the default one.
    fn executor(&self) -> Result<Executor, Box<dyn std::error::Error>> {
        Ok(match self.workers {
            Some(workers) => Executor::builder().workers(workers).build()?,
            None => Executor::global()?.clone(),
        })
    }

    /// Runs `workload` as these flags say, timing it as the lesson does
    /// (from before building the graph to after the compute).
    ///
    /// ```
    /// use clap::Parser as _;
    /// use delayed::lesson::{Cli, Workload};
    ///
    /// let serial = Cli::try_parse_from(["dask_delay", "--serial", "--unit-ms", "1"])?;
    /// let report = serial.run(Workload::Delay)?;
    /// assert_eq!((report.workers, report.result), (1, Some(5)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// If the executor cannot start, a task fails, or the picture cannot be written.
    pub fn run(&self, workload: Workload) -> Result<Report, Box<dyn std::error::Error>> {
        let unit = self.unit();
        let label = workload.label();
        if self.serial {
            // The serial program runs in this thread; the executor only
            // reports the CPUs it may use.
            let cpus = Executor::builder().workers(1).build()?.cpus().to_vec();
            let start = Instant::now();
            let result = workload.serial(unit);
            let wall = start.elapsed();
            return Ok(Report {
                workers: 1,
                cpus,
                label,
                result: Some(result),
                wall,
            });
        }
        let executor = self.executor()?;
        let start = Instant::now();
        let g = Graph::new();
        let output = workload.build(&g, unit);
        let result = if self.lazy {
            None
        } else {
            Some(output.compute_on(&executor)?)
        };
        let wall = start.elapsed();
        if let Some(path) = &self.visualize {
            output.visualize(path)?;
        }
        Ok(Report {
            workers: executor.workers(),
            cpus: executor.cpus().to_vec(),
            label,
            result,
            wall,
        })
    }
}

/// The `main` of the lesson's example programs: parses the command line,
/// runs `workload` and prints its [`Report`]; on an error, prints it and
/// exits with status 1.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     delayed::lesson::main(delayed::lesson::Workload::Loop)
/// }
/// ```
pub fn main(workload: Workload) -> ExitCode {
    match Cli::parse().run(workload) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
