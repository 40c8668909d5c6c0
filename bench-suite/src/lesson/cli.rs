//! The command line shared by the lesson's example programs.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;

use super::Workload;
use delayed::{ComputeOptions, Executor, Graph, Profile, PROGRESS_ENV, WHAT_IF_WORKERS};

/// The flags of the lesson's programs (`dask_delay`, `dask_loop`, `dask_loop_flow`).
///
/// ```
/// use clap::Parser as _;
/// use delayed_bench::lesson::{Cli, Workload};
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
    /// Print the efficiency report (work, critical path, the bound
    /// max(work/P, span), efficiency) and the what-if table (predicted times
    /// on 1, 2, 4 … 64 workers) after the timing.
    #[arg(long, conflicts_with_all = ["serial", "lazy"])]
    pub report: bool,
    /// Write the run's trace to FILE: .json for a Chrome trace (Perfetto,
    /// chrome://tracing), .svg for a timeline (a lane per worker).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["serial", "lazy"])]
    pub trace: Option<PathBuf>,
    /// No progress bar (shown by default when standard error is a terminal;
    /// DELAYED_PROGRESS=0 also turns it off).
    #[arg(long)]
    pub no_progress: bool,
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
    /// let cli = delayed_bench::lesson::Cli::parse_from(["dask_delay"]);
    /// assert_eq!(cli.unit(), delayed_bench::lesson::UNIT);
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
    /// use delayed_bench::lesson::{Cli, Workload};
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
        Ok(self.run_profiled(workload)?.0)
    }

    /// [`run`](Cli::run), also returning the run's [`Profile`] when
    /// `--report` or `--trace` asks for one.
    ///
    /// ```
    /// use clap::Parser as _;
    /// use delayed_bench::lesson::{Cli, Workload};
    ///
    /// let cli = Cli::try_parse_from(["dask_loop", "--unit-ms", "1", "--workers", "4", "--report"])?;
    /// let (report, profile) = cli.run_profiled(Workload::Loop)?;
    /// assert_eq!(report.result, Some(44));
    /// let profile = profile.expect("--report profiles the run");
    /// assert_eq!((profile.len(), profile.workers()), (9, 4));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`run`](Cli::run); also a `--trace` file that is neither `.json`
    /// nor `.svg` (before anything runs).
    pub fn run_profiled(
        &self,
        workload: Workload,
    ) -> Result<(Report, Option<Profile>), Box<dyn std::error::Error>> {
        if let Some(path) = &self.trace {
            check_trace_path(path)?;
        }
        let unit = self.unit();
        let label = workload.label();
        if self.serial {
            // The serial program runs in this thread; the executor only
            // reports the CPUs it may use.
            let cpus = Executor::builder().workers(1).build()?.cpus().to_vec();
            let start = Instant::now();
            let result = workload.serial(unit);
            let wall = start.elapsed();
            let report = Report {
                workers: 1,
                cpus,
                label,
                result: Some(result),
                wall,
            };
            return Ok((report, None));
        }
        let executor = self.executor()?;
        let start = Instant::now();
        let g = Graph::new();
        let output = workload.build(&g, unit);
        let options = self
            .progress(ComputeOptions::new().executor(&executor))
            .profile(self.report || self.trace.is_some());
        let (result, profile) = if self.lazy {
            (None, None)
        } else {
            let computed = output.compute_with(&options)?;
            (Some(computed.value), computed.profile)
        };
        let wall = start.elapsed();
        if let Some(path) = &self.visualize {
            output.visualize(path)?;
        }
        let report = Report {
            workers: executor.workers(),
            cpus: executor.cpus().to_vec(),
            label,
            result,
            wall,
        };
        Ok((report, profile))
    }

    /// `options` with the progress bar (drawn only if standard error is a
    /// terminal): on, unless `--no-progress`; when `DELAYED_PROGRESS` is
    /// set, the library reads it instead.
    fn progress(&self, options: ComputeOptions) -> ComputeOptions {
        if self.no_progress {
            options.progress(false)
        } else if std::env::var_os(PROGRESS_ENV).is_some() {
            options
        } else {
            options.progress(true)
        }
    }

    /// Prints the efficiency report and what-if table (`--report`) and
    /// writes the trace (`--trace`) of `profile`.
    ///
    /// ```
    /// use clap::Parser as _;
    /// use delayed_bench::lesson::{Cli, Workload};
    ///
    /// let cli = Cli::try_parse_from(["dask_loop", "--unit-ms", "1", "--report"])?;
    /// let (_, profile) = cli.run_profiled(Workload::Loop)?;
    /// let mut out = Vec::new();
    /// cli.diagnose(profile.as_ref().unwrap(), &mut out)?;
    /// let text = String::from_utf8(out)?;
    /// assert!(text.contains("critical path") && text.contains("what if"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// If the trace or `out` cannot be written.
    pub fn diagnose(
        &self,
        profile: &Profile,
        out: &mut impl std::io::Write,
    ) -> Result<(), Box<dyn std::error::Error>> {
        if self.report {
            writeln!(out, "\n{}\n", profile.efficiency())?;
            writeln!(out, "{}", profile.what_if(&WHAT_IF_WORKERS))?;
        }
        if let Some(path) = &self.trace {
            profile
                .write_trace(path)
                .map_err(|e| format!("cannot write the trace to '{}': {e}", path.display()))?;
        }
        Ok(())
    }
}

/// A `--trace` path must name a format: `.json` or `.svg`.
fn check_trace_path(path: &Path) -> Result<(), String> {
    let extension = path.extension().and_then(|e| e.to_str());
    match extension.map(str::to_ascii_lowercase).as_deref() {
        Some("json" | "svg") => Ok(()),
        _ => Err(format!(
            "--trace '{}': use .json (Chrome trace, for Perfetto or chrome://tracing) \
             or .svg (timeline)",
            path.display()
        )),
    }
}

/// The `main` of the lesson's example programs: parses the command line,
/// runs `workload` and prints its [`Report`], then, as `--report` and
/// `--trace` ask, the efficiency report and what-if table, and the trace;
/// on an error, prints it and exits with status 1.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     delayed_bench::lesson::main(delayed_bench::lesson::Workload::Loop)
/// }
/// ```
pub fn main(workload: Workload) -> ExitCode {
    let cli = Cli::parse();
    let outcome = cli.run_profiled(workload).and_then(|(report, profile)| {
        println!("{report}");
        match profile {
            Some(profile) => cli.diagnose(&profile, &mut std::io::stdout()),
            None => Ok(()),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
