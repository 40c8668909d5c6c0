//! Task Bench's METG(50 %) for `delayed` (one node), `delayed::mpi` (across
//! ranks) and a hand-written MPI floor: see `bench-suite/src/taskbench/`.
//!
//! ```sh
//! cargo build --release -p delayed-bench --features mpi --bin taskbench
//! NS=$(target/release/taskbench calibrate)
//! target/release/taskbench run --system delayed --workers 2 --ns-per-iteration $NS
//! mpirun -np 2 --bind-to none target/release/taskbench run --system delayed-mpi \
//!     --workers 1 --ns-per-iteration $NS
//! mpirun -np 2 --bind-to none target/release/taskbench run --system mpi --ns-per-iteration $NS
//! # both in one job, their runs alternating (what scripts/taskbench.sh does):
//! mpirun -np 2 --bind-to none target/release/taskbench run --system delayed-mpi-and-mpi \
//!     --workers 1 --ns-per-iteration $NS
//! target/release/taskbench report --csv results/taskbench/raw.csv --out results/taskbench
//! ```
//!
//! `run` appends one CSV row per sweep point (rank 0 only) to `--csv`;
//! `report` reads such rows (Dask's too) and writes the METG table and
//! plot. `scripts/taskbench.sh` runs everything.

use std::error::Error;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use delayed::Executor;
use delayed_bench::taskbench::delayed_run::{run_cluster, run_local, Shape};
use delayed_bench::taskbench::kernel::{calibrate, reference};
use delayed_bench::taskbench::pattern::Pattern;
use delayed_bench::taskbench::sample::{config_name, Sample, CSV_HEADER};
use delayed_bench::taskbench::sweep::{powers_of_two, sweep, sweep_alternating, Plan};
use delayed_bench::taskbench::{mpi_baseline, report};
use mpi::collective::SystemOperation;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives};

#[derive(Parser, Debug)]
#[command(about = "Task Bench METG(50%): delayed, delayed::mpi, hand-written MPI")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Prints the kernel's ns per iteration on this machine (one thread).
    Calibrate {
        /// Rounds of 2^22 iterations; the fastest counts.
        #[arg(long, default_value_t = 15)]
        rounds: usize,
    },
    /// Sweeps kernel sizes for each pattern on one system.
    Run(RunArgs),
    /// Reads raw CSV rows and writes the METG table and plot.
    Report {
        /// Raw CSV files (this binary's and the Dask script's).
        #[arg(long, required = true, value_delimiter = ',')]
        csv: Vec<PathBuf>,
        /// Dask's no-op throughput CSV, quoted in the table's file.
        #[arg(long)]
        dask_noop: Option<PathBuf>,
        /// Folder for `metg.md`, `metg.csv` and `metg.svg`.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// The system to run.
    #[arg(long, value_enum)]
    system: System,
    /// Workers of each rank's executor (1 for `mpi`).
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Patterns to sweep.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "stencil_1d,nearest,tree,fft,spread,all_to_all"
    )]
    patterns: Vec<Pattern>,
    /// Timesteps of every graph.
    #[arg(long, default_value_t = 1000)]
    steps: usize,
    /// The largest kernel: 2^max_log2 iterations.
    #[arg(long, default_value_t = 17)]
    max_log2: u32,
    /// The smallest kernel: 2^min_log2 iterations.
    #[arg(long, default_value_t = 4)]
    min_log2: u32,
    /// Measured runs per sweep point (after one warm-up per sweep).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The kernel's ns per iteration (`taskbench calibrate`).
    #[arg(long)]
    ns_per_iteration: f64,
    /// Stop a sweep once efficiency falls below this fraction of its peak.
    #[arg(long, default_value_t = 0.2)]
    stop_below: f64,
    /// `delayed-mpi`: leave out the placement hints (point i on rank
    /// i / workers) and let the default placement decide.
    #[arg(long)]
    default_placement: bool,
    /// Append rows here (rank 0); stdout if not given.
    #[arg(long)]
    csv: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum System {
    /// `delayed::Graph` on one node's executor (no MPI).
    Delayed,
    /// `delayed::mpi::Graph` across the job's ranks.
    DelayedMpi,
    /// The hand-written rsmpi floor: one point per rank.
    Mpi,
    /// `delayed-mpi` and `mpi` in one job, their runs alternating at each
    /// kernel size (`sweep_alternating`), so that their ratio is measured
    /// in the same minutes, each rank on the same CPUs (`--workers 1`).
    DelayedMpiAndMpi,
}

impl System {
    fn name(self) -> &'static str {
        match self {
            System::Delayed => "delayed",
            System::DelayedMpi => "delayed-mpi",
            System::Mpi => "mpi",
            System::DelayedMpiAndMpi => "delayed-mpi and mpi",
        }
    }
}

/// The machine's online CPUs, which a rank bound to some of them does not
/// see otherwise.
fn online_cpus() -> usize {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|s| s.lines().filter(|l| l.starts_with("processor")).count())
        .unwrap_or(1)
        .max(1)
}

/// Where rows go: a CSV file (header written if it is new) or stdout.
struct Rows {
    file: Option<std::fs::File>,
}

impl Rows {
    fn open(path: Option<&PathBuf>) -> Result<Rows, Box<dyn Error>> {
        let Some(path) = path else {
            println!("{CSV_HEADER}");
            return Ok(Rows { file: None });
        };
        let fresh = !path.exists() || std::fs::metadata(path)?.len() == 0;
        let mut file = OpenOptions::new().create(true).append(true).open(path)?;
        if fresh {
            writeln!(file, "{CSV_HEADER}")?;
        }
        Ok(Rows { file: Some(file) })
    }

    fn write(&mut self, sample: &Sample) {
        eprintln!(
            "  {} {:>10} {:>8} iter  kernel {:>10.0} ns  wall {:.4} s  eff {:.3}{}",
            sample.system,
            sample.pattern,
            sample.iterations,
            sample.kernel_ns,
            sample.wall_s,
            sample.efficiency,
            if sample.checked { "" } else { "  MISMATCH" }
        );
        match &mut self.file {
            Some(file) => {
                let _ = writeln!(file, "{}", sample.csv_row());
                let _ = file.flush();
            }
            None => println!("{}", sample.csv_row()),
        }
    }
}

fn run(args: &RunArgs) -> Result<(), Box<dyn Error>> {
    let iterations = powers_of_two(args.max_log2, args.min_log2);
    let cpus = online_cpus();
    let plan_of = |system: System, pattern, ranks: usize, workers: usize| Plan {
        system: system.name().to_string(),
        ranks,
        workers,
        cores: (ranks * workers).min(cpus),
        pattern,
        width: ranks * workers,
        steps: args.steps,
        iterations: iterations.clone(),
        runs: args.runs,
        ns_per_iteration: args.ns_per_iteration,
        stop_below: args.stop_below,
    };
    let plan = |pattern, ranks, workers| plan_of(args.system, pattern, ranks, workers);
    match args.system {
        System::Delayed => {
            let executor = Executor::builder()
                .workers(args.workers)
                .pin(false)
                .build()?;
            let mut rows = Rows::open(args.csv.as_ref())?;
            eprintln!("delayed: {}", config_name(1, args.workers, cpus));
            let mut expected = Expected::default();
            for &pattern in &args.patterns {
                let plan = plan(pattern, 1, args.workers);
                let once = |iterations| {
                    let shape = shape(&plan, iterations);
                    let (out, wall) = run_local(shape, &executor).expect("compute");
                    (wall.as_secs_f64(), out == expected.of(&plan, iterations))
                };
                sweep(&plan, once, |s| rows.write(s));
            }
        }
        // delayed-mpi alone, or with the floor beside it in the same job,
        // their runs alternating.
        System::DelayedMpi | System::DelayedMpiAndMpi => {
            let with_floor = args.system == System::DelayedMpiAndMpi;
            if with_floor && args.workers != 1 {
                return Err(format!(
                    "--system delayed-mpi-and-mpi runs the hand-written floor, one point per \
                     rank, beside delayed-mpi on the same points: give --workers 1, not {}",
                    args.workers
                )
                .into());
            }
            let cluster = delayed::mpi::Cluster::init()?;
            let world = SimpleCommunicator::world();
            let executor = Executor::builder()
                .workers(args.workers)
                .pin(false)
                .build()?;
            let ranks = cluster.size();
            let mut rows = rank0_rows(&world, args)?;
            say(
                &world,
                &format!(
                    "{}: {}",
                    args.system.name(),
                    config_name(ranks, args.workers, cpus)
                ),
            );
            let mut expected = Expected::default();
            for &pattern in &args.patterns {
                let mut plans = vec![plan_of(System::DelayedMpi, pattern, ranks, args.workers)];
                if with_floor {
                    plans.push(plan_of(System::Mpi, pattern, ranks, 1));
                }
                let once = |system: usize, iterations| {
                    let want = expected.of(&plans[system], iterations);
                    world.barrier();
                    let (out, wall) = if system == 0 {
                        let shape = shape(&plans[0], iterations);
                        let hints = !args.default_placement;
                        run_cluster(&cluster, shape, args.workers, hints, &executor)
                            .expect("compute")
                    } else {
                        mpi_baseline::run(&world, pattern, args.steps, iterations)
                    };
                    slowest(&world, wall.as_secs_f64(), out == want)
                };
                sweep_alternating(&plans, once, |s| write_rank0(&mut rows, s));
            }
        }
        System::Mpi => {
            let _universe = mpi::initialize().ok_or("MPI could not be initialised")?;
            let world = SimpleCommunicator::world();
            let ranks = world.size() as usize;
            let mut rows = rank0_rows(&world, args)?;
            say(&world, &format!("mpi: {}", config_name(ranks, 1, cpus)));
            let mut expected = Expected::default();
            for &pattern in &args.patterns {
                let plan = plan(pattern, ranks, 1);
                let once = |iterations| {
                    let want = expected.of(&plan, iterations);
                    world.barrier();
                    let (out, wall) = mpi_baseline::run(&world, pattern, args.steps, iterations);
                    slowest(&world, wall.as_secs_f64(), out == want)
                };
                sweep(&plan, once, |s| write_rank0(&mut rows, s));
            }
        }
    }
    Ok(())
}

fn shape(plan: &Plan, iterations: u64) -> Shape {
    Shape {
        pattern: plan.pattern,
        width: plan.width,
        steps: plan.steps,
        iterations,
    }
}

/// The sequential reference of the last sweep point asked for, computed
/// once per point and before a run's barrier. Computed after each run, as
/// it was, it ran on a rank that had finished while the others still
/// computed: on ranks sharing CPUs it took their CPU inside their timed
/// region (a `Vec` per step and per point: 5 % of the relaying rank's
/// samples of Task Bench's tree on 4 ranks sharing 2 CPUs, `perf`).
#[derive(Default)]
struct Expected {
    /// The point (pattern, width, steps, iterations) of `outputs`.
    point: Option<(Pattern, usize, usize, u64)>,
    outputs: Vec<u64>,
}

impl Expected {
    fn of(&mut self, plan: &Plan, iterations: u64) -> &[u64] {
        let point = (plan.pattern, plan.width, plan.steps, iterations);
        if self.point != Some(point) {
            self.outputs = reference(plan.pattern, plan.width, plan.steps, iterations);
            self.point = Some(point);
        }
        &self.outputs
    }
}

/// The slowest rank's wall time, and whether every rank's outputs matched.
fn slowest(world: &SimpleCommunicator, wall: f64, ok: bool) -> (f64, bool) {
    let mut max = 0.0f64;
    world.all_reduce_into(&wall, &mut max, SystemOperation::max());
    let mut all_ok = 0i32;
    world.all_reduce_into(&i32::from(ok), &mut all_ok, SystemOperation::min());
    (max, all_ok == 1)
}

fn rank0_rows(world: &SimpleCommunicator, args: &RunArgs) -> Result<Option<Rows>, Box<dyn Error>> {
    if world.rank() == 0 {
        Ok(Some(Rows::open(args.csv.as_ref())?))
    } else {
        Ok(None)
    }
}

fn write_rank0(rows: &mut Option<Rows>, sample: &Sample) {
    if let Some(rows) = rows {
        rows.write(sample);
    }
}

fn say(world: &SimpleCommunicator, line: &str) {
    if world.rank() == 0 {
        eprintln!("{line}");
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.command {
        Command::Calibrate { rounds } => {
            println!("{:.4}", calibrate(*rounds));
            Ok(())
        }
        Command::Run(args) => run(args),
        Command::Report {
            csv,
            dask_noop,
            out,
        } => report::write(csv, dask_noop.as_deref(), out),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("taskbench: {error}");
            ExitCode::FAILURE
        }
    }
}
