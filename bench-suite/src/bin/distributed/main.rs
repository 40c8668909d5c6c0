//! The multi-node layer's first numbers (`delayed::mpi`): one MPI program
//! that measures, in the same process,
//!
//! 1. latency: a chain of no-op tasks alternating between ranks 0 and 1
//!    (every edge crosses ranks) against the same chain all on rank 0;
//! 2. throughput: independent no-op tasks spread by the default placement,
//!    and one sink summing them;
//! 3. the lesson's loop: eight tasks of one unit (a sleep) and their sum,
//!    against the ideal of `ceil(8 / (ranks x workers))` units;
//! 4. the floor: a plain MPI ping-pong of 8 bytes between ranks 0 and 1;
//! 5. the CPU a rank burns while it waits for a remote input (rank 1 waits
//!    for rank 0's slow task);
//! 6. small computes (`small.rs`): a graph of one task per rank and a sink,
//!    computed again and again, against one `MPI_Allreduce`.
//!
//! ```sh
//! cargo build --release -p delayed-bench --features mpi --bin distributed
//! mpirun -np 2 target/release/distributed
//! ```
//!
//! Every measurement starts after a barrier; a run's time is the slowest
//! rank's. Rank 0 prints markdown tables: medians with [min-max] over the
//! runs, after one warm-up run.

mod small;

use std::error::Error;
use std::process::ExitCode;
use std::thread::sleep;
use std::time::{Duration, Instant};

use clap::Parser;
use delayed::mpi::Cluster;
use delayed::Executor;
use delayed_bench::machine::utc_now;
use delayed_bench::timing::{median, process_cpu_time};
use mpi::collective::SystemOperation;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives, Destination, Source};

/// What to measure, and how many times.
#[derive(Parser, Debug)]
#[command(about = "delayed::mpi: cross-rank latency, throughput, the lesson's loop, MPI floor")]
struct Args {
    /// Tasks in the latency chain.
    #[arg(long, default_value_t = 20_000)]
    chain: usize,
    /// Independent tasks in the throughput graph (plus one sink).
    #[arg(long, default_value_t = 200_000)]
    tasks: usize,
    /// Measured runs of each workload, after one warm-up run.
    #[arg(long, default_value_t = 7)]
    runs: usize,
    /// The lesson's unit of work, in milliseconds.
    #[arg(long, default_value_t = 100)]
    unit_ms: u64,
    /// How long rank 0's slow task sleeps while rank 1 waits for it.
    #[arg(long, default_value_t = 2_000)]
    wait_ms: u64,
    /// Runs of the waiting measurement (no warm-up).
    #[arg(long, default_value_t = 3)]
    wait_runs: usize,
    /// Computes per run of the small-computes section.
    #[arg(long, default_value_t = 2_000)]
    computes: usize,
    /// Round trips per ping-pong run.
    #[arg(long, default_value_t = 100_000)]
    round_trips: usize,
    /// Workers of each rank's executor.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Leave the workers unpinned. By default each rank's worker `i` pins
    /// itself to the `i`-th CPU of the rank's affinity mask (the executor's
    /// default): the rank's one core when `mpirun` binds ranks to cores,
    /// the machine's first CPU for every rank under `--bind-to none`.
    #[arg(long)]
    no_pin: bool,
    /// The sections to run, of latency, throughput, lesson, small,
    /// pingpong, wait.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "latency,throughput,lesson,small,pingpong,wait"
    )]
    only: Vec<String>,
}

impl Args {
    /// Whether section `name` runs.
    fn wants(&self, name: &str) -> bool {
        self.only.iter().any(|s| s == name)
    }
}

/// A run's time split into building the graph and computing it.
type Run = (Duration, Duration);

/// `samples` as `median [min-max]`, each with `digits` decimals.
fn spread(samples: &[f64], digits: usize) -> String {
    let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
    let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!(
        "{:.digits$} [{:.digits$}-{:.digits$}]",
        median(samples),
        min,
        max
    )
}

/// The largest of each entry of `local` over the job's ranks.
fn max_over_ranks(world: &SimpleCommunicator, local: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; local.len()];
    world.all_reduce_into(local, &mut out[..], SystemOperation::max());
    out
}

/// Runs `one` once to warm up, then `runs` times, each after a barrier;
/// returns, per run, the slowest rank's build and compute times in seconds.
fn measure(
    world: &SimpleCommunicator,
    runs: usize,
    mut one: impl FnMut() -> Result<Run, Box<dyn Error>>,
) -> Result<(Vec<f64>, Vec<f64>), Box<dyn Error>> {
    world.barrier();
    one()?;
    let (mut build, mut compute) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        world.barrier();
        let (b, c) = one()?;
        let slowest = max_over_ranks(world, &[b.as_secs_f64(), c.as_secs_f64()]);
        build.push(slowest[0]);
        compute.push(slowest[1]);
    }
    Ok((build, compute))
}

/// Fails with `what` unless `ok`.
fn check(ok: bool, what: &str) -> Result<(), Box<dyn Error>> {
    if ok {
        Ok(())
    } else {
        Err(format!("wrong result: {what}").into())
    }
}

/// A chain of `n` no-op tasks (each adds one), alternating between ranks 0
/// and 1 when `alternate`, else all on rank 0. Returns the build and
/// compute times, and the process's CPU time during the compute, in seconds.
fn chain_run(
    cluster: &Cluster,
    ex: &Executor,
    n: usize,
    alternate: bool,
) -> Result<[f64; 3], Box<dyn Error>> {
    let start = Instant::now();
    let g = cluster.graph();
    let mut last = g.on(0).delayed("link", || 0u64);
    for i in 1..n {
        let rank = if alternate { i % 2 } else { 0 };
        last = g.on(rank).task("link", &last, |v| v + 1);
    }
    let build = start.elapsed();
    let cpu = process_cpu_time();
    let start = Instant::now();
    let value = last.compute_on(ex)?;
    let compute = start.elapsed();
    let cpu = process_cpu_time().saturating_sub(cpu);
    check(value == n as u64 - 1, "chain")?;
    Ok([
        build.as_secs_f64(),
        compute.as_secs_f64(),
        cpu.as_secs_f64(),
    ])
}

/// `n` independent no-op tasks placed by default, and one sink summing them.
fn spread_run(cluster: &Cluster, ex: &Executor, n: usize) -> Result<Run, Box<dyn Error>> {
    let start = Instant::now();
    let g = cluster.graph();
    let xs: Vec<_> = (0..n as u64).map(|i| g.delayed("x", move || i)).collect();
    let sum = g.task("sum", &xs, |v| v.into_iter().sum::<u64>());
    let build = start.elapsed();
    let start = Instant::now();
    let value = sum.compute_on(ex)?;
    let compute = start.elapsed();
    let n = n as u64;
    check(value == n * (n.saturating_sub(1)) / 2, "sum")?;
    Ok((build, compute))
}

/// The lesson's loop: eight `inc`s sleeping `unit` each, and their sum.
fn lesson_run(cluster: &Cluster, ex: &Executor, unit: Duration) -> Result<Run, Box<dyn Error>> {
    let start = Instant::now();
    let g = cluster.graph();
    let xs: Vec<_> = (1..=8i64)
        .map(|x| {
            g.delayed("inc", move || {
                sleep(unit);
                x + 1
            })
        })
        .collect();
    let total = g.task("sum", &xs, |v| v.into_iter().sum::<i64>());
    let build = start.elapsed();
    let start = Instant::now();
    let value = total.compute_on(ex)?;
    let compute = start.elapsed();
    check(value == 44, "lesson total")?;
    Ok((build, compute))
}

/// One ping-pong run: `n` round trips of 8 bytes between ranks 0 and 1
/// (other ranks do nothing); the time it took this rank.
fn ping_pong(world: &SimpleCommunicator, n: usize) -> Duration {
    let mut buf = [0u64; 1];
    let start = Instant::now();
    match world.rank() {
        0 => {
            let peer = world.process_at_rank(1);
            for i in 0..n {
                buf[0] = i as u64;
                peer.send(&buf[..]);
                peer.receive_into(&mut buf[..]);
            }
        }
        1 => {
            let peer = world.process_at_rank(0);
            for _ in 0..n {
                peer.receive_into(&mut buf[..]);
                peer.send(&buf[..]);
            }
        }
        _ => {}
    }
    start.elapsed()
}

/// One waiting run: rank 0's task sleeps `wait`, rank 1's task reads its
/// output. Returns this rank's (wall seconds, CPU seconds) of the compute.
fn wait_run(cluster: &Cluster, ex: &Executor, wait: Duration) -> Result<[f64; 2], Box<dyn Error>> {
    let g = cluster.graph();
    let slow = g.on(0).delayed("slow", move || {
        sleep(wait);
        1u64
    });
    let after = g.on(1).task("after", &slow, |v| v + 1);
    let cpu = process_cpu_time();
    let start = Instant::now();
    let value = after.compute_on(ex)?;
    let wall = start.elapsed();
    let cpu = process_cpu_time().saturating_sub(cpu);
    check(value == 2, "wait")?;
    Ok([wall.as_secs_f64(), cpu.as_secs_f64()])
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("distributed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// What every section needs: the job, its executor and the options.
struct Bench<'a> {
    args: &'a Args,
    cluster: Cluster,
    /// `MPI_COMM_WORLD`, for the barriers, the reductions and the
    /// ping-pong; computes use their own duplicate of it, so that these
    /// never meet their messages.
    world: SimpleCommunicator,
    ex: Executor,
    ranks: usize,
}

impl Bench<'_> {
    /// Prints `text` on rank 0.
    fn say(&self, text: &str) {
        if self.cluster.rank() == 0 {
            println!("{text}");
        }
    }

    /// Per run, in ns per task: build and compute of the chain on rank 0,
    /// and when there are two ranks or more, of the alternating chain and
    /// the difference per edge.
    fn latency(&self) -> Result<(), Box<dyn Error>> {
        let (n, ranks) = (self.args.chain, self.ranks);
        let (cluster, ex, world) = (&self.cluster, &self.ex, &self.world);
        self.say(&format!(
            "## Latency: a chain of {n} no-op tasks (u64 + 1)\n"
        ));
        world.barrier();
        chain_run(cluster, ex, n, false)?;
        if ranks >= 2 {
            world.barrier();
            chain_run(cluster, ex, n, true)?;
        }
        let ns = |t: f64| t * 1e9 / n as f64;
        let (mut base_b, mut base_c, mut alt_b, mut alt_c, mut edge) =
            (vec![], vec![], vec![], vec![], vec![]);
        // Per rank, per run: CPU time over compute time, in % of one core.
        let (mut base_cpu, mut alt_cpu) = (vec![vec![]; ranks], vec![vec![]; ranks]);
        let one = |alternate: bool, cpu: &mut Vec<Vec<f64>>| -> Result<Vec<f64>, Box<dyn Error>> {
            world.barrier();
            let [b, c, used] = chain_run(cluster, ex, n, alternate)?;
            let mut pct = vec![0.0; ranks];
            world.all_gather_into(&(100.0 * used / c), &mut pct[..]);
            for (samples, p) in cpu.iter_mut().zip(pct) {
                samples.push(p);
            }
            Ok(max_over_ranks(world, &[b, c]))
        };
        for _ in 0..self.args.runs {
            // The two chains alternate run by run, so that a burst of load
            // from elsewhere hits both.
            let base = one(false, &mut base_cpu)?;
            base_b.push(ns(base[0]));
            base_c.push(ns(base[1]));
            if ranks >= 2 {
                let alt = one(true, &mut alt_cpu)?;
                alt_b.push(ns(alt[0]));
                alt_c.push(ns(alt[1]));
                edge.push((alt[1] - base[1]) * 1e9 / (n - 1) as f64);
            }
        }
        let cpu_cells = |cpu: &[Vec<f64>]| {
            cpu.iter()
                .map(|samples| format!("{:.0}", median(samples)))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        self.say(
            "| chain | build ns/task | compute ns/task | CPU % of one core, rank 0 / 1 / ... \
             (medians) |",
        );
        self.say("|---|---|---|---|");
        self.say(&format!(
            "| all on rank 0 | {} | {} | {} |",
            spread(&base_b, 0),
            spread(&base_c, 0),
            cpu_cells(&base_cpu)
        ));
        if ranks < 2 {
            self.say("\n(one rank: no edge crosses ranks)\n");
            return Ok(());
        }
        self.say(&format!(
            "| alternating ranks 0/1 | {} | {} | {} |",
            spread(&alt_b, 0),
            spread(&alt_c, 0),
            cpu_cells(&alt_cpu)
        ));
        self.say(&format!(
            "\ncross-rank edge (alternating minus all on rank 0, run by run, over {} edges): \
             {} ns; target <= 5000 ns: {}\n",
            n - 1,
            spread(&edge, 0),
            if median(&edge) <= 5000.0 {
                "met"
            } else {
                "NOT met"
            }
        ));
        Ok(())
    }

    /// Independent tasks and a sink: build and compute per task.
    fn throughput(&self) -> Result<(), Box<dyn Error>> {
        let n = self.args.tasks;
        self.say(&format!(
            "## Throughput: {n} independent no-op tasks (default placement) + 1 sink\n"
        ));
        let (b, c) = measure(&self.world, self.args.runs, || {
            spread_run(&self.cluster, &self.ex, n)
        })?;
        let per = |s: &[f64]| {
            s.iter()
                .map(|t| t * 1e9 / (n + 1) as f64)
                .collect::<Vec<_>>()
        };
        let ms = s_to_ms(&c);
        self.say("| ranks | build ns/task | compute ms | compute ns/task |");
        self.say("|---|---|---|---|");
        self.say(&format!(
            "| {} | {} | {} | {} |\n",
            self.ranks,
            spread(&per(&b), 0),
            spread(&ms, 1),
            spread(&per(&c), 0)
        ));
        Ok(())
    }

    /// The lesson's loop: wall time (build + compute) against the ideal.
    fn lesson(&self) -> Result<(), Box<dyn Error>> {
        let (unit_ms, workers) = (self.args.unit_ms, self.args.workers);
        let unit = Duration::from_millis(unit_ms);
        self.say(&format!(
            "## The lesson's loop: 8 tasks sleeping {unit_ms} ms + sum\n"
        ));
        let (b, c) = measure(&self.world, self.args.runs, || {
            lesson_run(&self.cluster, &self.ex, unit)
        })?;
        let wall: Vec<f64> = b.iter().zip(&c).map(|(b, c)| (b + c) * 1e3).collect();
        let ideal = 8usize.div_ceil(self.ranks * workers) as f64 * unit_ms as f64;
        let over: Vec<f64> = wall.iter().map(|w| w - ideal).collect();
        self.say(
            "| ranks | workers/rank | build ms | compute ms | wall ms (build + compute) \
             | ideal ms | over ideal ms |",
        );
        self.say("|---|---|---|---|---|---|---|");
        self.say(&format!(
            "| {} | {workers} | {} | {} | {} | {ideal:.0} | {} |\n",
            self.ranks,
            spread(&s_to_ms(&b), 3),
            spread(&s_to_ms(&c), 1),
            spread(&wall, 1),
            spread(&over, 1)
        ));
        Ok(())
    }

    /// The MPI floor: round trips of 8 bytes between ranks 0 and 1.
    fn ping_pong(&self) -> Result<(), Box<dyn Error>> {
        let trips = self.args.round_trips;
        self.say(&format!(
            "## MPI floor: ping-pong of 8 bytes between ranks 0 and 1 (rsmpi, blocking \
             send/receive on MPI_COMM_WORLD), {trips} round trips per run\n"
        ));
        let (_, rtt) = measure(&self.world, self.args.runs, || {
            Ok((Duration::ZERO, ping_pong(&self.world, trips)))
        })?;
        let rtt: Vec<f64> = rtt.iter().map(|t| t * 1e6 / trips as f64).collect();
        let one_way: Vec<f64> = rtt.iter().map(|t| t / 2.0).collect();
        self.say("| ranks | round trip us | one way us |");
        self.say("|---|---|---|");
        self.say(&format!(
            "| {} | {} | {} |\n",
            self.ranks,
            spread(&rtt, 3),
            spread(&one_way, 3)
        ));
        Ok(())
    }

    /// The CPU each rank burns while rank 1 waits for rank 0's slow task.
    fn wait(&self) -> Result<(), Box<dyn Error>> {
        let (ranks, runs) = (self.ranks, self.args.wait_runs);
        let wait = Duration::from_millis(self.args.wait_ms);
        self.say(&format!(
            "## CPU while waiting: rank 0's task sleeps {} ms, rank 1's task reads its \
             output; {runs} runs, no warm-up\n",
            self.args.wait_ms
        ));
        self.say(
            "CPU time of the whole process (getrusage: all its threads, MPI's included) \
             over the compute's wall time.\n",
        );
        let mut per_rank: Vec<Vec<[f64; 2]>> = vec![Vec::new(); ranks];
        for _ in 0..runs {
            self.world.barrier();
            let mine = wait_run(&self.cluster, &self.ex, wait)?;
            let mut all = vec![0.0; 2 * ranks];
            self.world.all_gather_into(&mine[..], &mut all[..]);
            for (r, samples) in per_rank.iter_mut().enumerate() {
                samples.push([all[2 * r], all[2 * r + 1]]);
            }
        }
        self.say("| rank | role | wall s | CPU s | CPU % of one core |");
        self.say("|---|---|---|---|---|");
        for (r, samples) in per_rank.iter().enumerate() {
            let role = match r {
                0 => "runs the slow task",
                1 => "waits for it",
                _ => "no task",
            };
            let wall: Vec<f64> = samples.iter().map(|x| x[0]).collect();
            let cpu: Vec<f64> = samples.iter().map(|x| x[1]).collect();
            let pct: Vec<f64> = samples.iter().map(|x| 100.0 * x[1] / x[0]).collect();
            self.say(&format!(
                "| {r} | {role} | {} | {} | {} |",
                spread(&wall, 3),
                spread(&cpu, 3),
                spread(&pct, 1)
            ));
        }
        self.say("");
        Ok(())
    }
}

/// Seconds to milliseconds.
fn s_to_ms(samples: &[f64]) -> Vec<f64> {
    samples.iter().map(|t| t * 1e3).collect()
}

/// The machine's online CPUs (`processor` lines of `/proc/cpuinfo`), which
/// a rank bound to some of them does not see otherwise.
fn online_cpus() -> usize {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|s| s.lines().filter(|l| l.starts_with("processor")).count())
        .unwrap_or(0)
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    if args.runs == 0
        || args.wait_runs == 0
        || args.chain < 2
        || args.round_trips == 0
        || args.computes == 0
    {
        return Err(
            "--runs, --wait-runs, --round-trips and --computes must be above 0, --chain above 1"
                .into(),
        );
    }
    let cluster = Cluster::init()?;
    let bench = Bench {
        args,
        world: SimpleCommunicator::world(),
        ex: Executor::builder()
            .workers(args.workers)
            .pin(!args.no_pin)
            .build()?,
        ranks: cluster.size(),
        cluster,
    };
    let ranks = bench.ranks;
    // The CPUs each rank may run on (its affinity mask: `mpirun` binds
    // ranks to cores unless told `--bind-to none`).
    let mine = std::thread::available_parallelism().map_or(0, |n| n.get()) as u64;
    let mut allowed = vec![0u64; ranks];
    bench.world.all_gather_into(&mine, &mut allowed[..]);
    let cpus = online_cpus();
    bench.say(&format!("# delayed::mpi on {ranks} rank(s)\n"));
    bench.say(&format!(
        "- started {}; {ranks} rank(s) x {} worker(s) ({}) + 1 computing thread each, on \
         {cpus} online CPU(s); CPUs each rank may run on: {allowed:?}{}",
        utc_now(),
        args.workers,
        if args.no_pin { "not pinned" } else { "pinned" },
        if ranks * args.workers > cpus {
            format!(
                "; OVERSUBSCRIBED: {} workers on {cpus} CPUs",
                ranks * args.workers
            )
        } else {
            String::new()
        }
    ));
    bench.say(&format!(
        "- each row: {} runs after 1 warm-up, each after a barrier; a run's time is the \
         slowest rank's; median [min-max]\n",
        args.runs
    ));
    if args.wants("latency") {
        bench.latency()?;
    }
    if args.wants("throughput") {
        bench.throughput()?;
    }
    if args.wants("lesson") {
        bench.lesson()?;
    }
    if args.wants("small") {
        bench.small()?;
    }
    if ranks < 2 {
        bench.say("(the ping-pong and the waiting need 2 ranks or more)\n");
    } else {
        if args.wants("pingpong") {
            bench.ping_pong()?;
        }
        if args.wants("wait") {
            bench.wait()?;
        }
    }
    bench.say(&format!("- ended {}", utc_now()));
    Ok(())
}
