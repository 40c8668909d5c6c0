//! `overhead`: the executor, DAG-overhead and scaling workloads outside
//! criterion, in one run; writes, each section on its own (so that `--only`
//! reruns one without touching the others): `results/executor.{md,csv}`,
//! `overhead.{md,csv,svg}` with `ready-latency.csv`,
//! `scaling.{md,csv,svg}`, and `small-compute.{md,csv}`.
//!
//! ```text
//! cargo run --release -p delayed-bench --bin overhead
//! cargo run --release -p delayed-bench --bin overhead -- --only executor
//! ```

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use delayed_bench::alloc_counter::CountingAlloc;
use delayed_bench::cross_cpu::{self, Link};
use delayed_bench::dag_overhead::{self, Overhead};
use delayed_bench::executor_jobs::{JobPool, JobSystem, JobWorkload};
use delayed_bench::machine::{wait_for_quiet, Machine};
use delayed_bench::peers::{Runner, System};
use delayed_bench::plot::{self, Bar, Point};
use delayed_bench::scaling::{self, Scaling};
use delayed_bench::shapes::Shape;
use delayed_bench::small_compute::{SmallCompute, SmallPools};
use delayed_bench::table::{cell, Table};
use delayed_bench::timing::median;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Section {
    /// Spawn 1M empty jobs and a 2^20-leaf join tree: delayed-executor vs rayon.
    Executor,
    /// No-op tasks on the five million-node DAG shapes, every system.
    Dag,
    /// 20,000 tasks of ~50 µs on 1..N workers.
    Scaling,
    /// A graph of three no-op tasks computed again and again from outside
    /// the pool: delayed vs rayon's `install`.
    Small,
}

#[derive(Parser, Debug)]
#[command(about = "DAG overhead, executor spawn/join and scaling, outside criterion")]
struct Args {
    /// Worker counts [default: 1, 2, then 4, 8, 16... up to the CPUs here].
    #[arg(long, value_delimiter = ',')]
    workers: Vec<usize>,
    /// Runs per measurement (each on a fresh graph); the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Graph size: about 2^LOG2 nodes per shape.
    #[arg(long, default_value_t = 20)]
    log2: u32,
    /// Sections to run [default: all].
    #[arg(long, value_delimiter = ',')]
    only: Vec<Section>,
    /// Folder for the results files.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// A label for the machine, printed in the titles (e.g. "2-core").
    #[arg(long)]
    label: Option<String>,
    /// DAG shapes to run, by name (e.g. `chain,wavefront`) [default: all].
    #[arg(long, value_delimiter = ',')]
    shapes: Vec<String>,
    /// Systems of the DAG section to run, by name (e.g. `delayed,rayon_inline`)
    /// [default: all].
    #[arg(long, value_delimiter = ',')]
    systems: Vec<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let machine = Machine::describe();
    let workers = if args.workers.is_empty() {
        delayed_bench::machine::worker_counts()
    } else {
        args.workers.clone()
    };
    let label = args
        .label
        .clone()
        .unwrap_or_else(|| format!("{}-CPU machine", machine.nproc));
    let wants = |s| args.only.is_empty() || args.only.contains(&s);
    std::fs::create_dir_all(&args.out)?;
    *LINK.lock().unwrap_or_else(|e| e.into_inner()) = Link::new();
    let section_start = Mutex::new((0, 0));

    let header = |title: &str| {
        BUSY_STARTS.store(0, Ordering::Relaxed);
        *section_start.lock().unwrap_or_else(|e| e.into_inner()) = link_mark();
        format!(
            "# {title} ({label})\n\n{}- load average at start: {}\n- runs per measurement: {} (median reported)\n\n",
            machine.markdown(),
            loadavg(),
            args.runs
        )
    };
    let write_md = |name: &str, mut md: String| -> std::io::Result<()> {
        md.push_str(&format!("\n- load average at end: {}\n", loadavg()));
        md.push_str(&format!(
            "- measurements that started without a quiet moment (90% idle CPUs for 200 ms, waited for up to 10 s each): {}\n",
            BUSY_STARTS.load(Ordering::Relaxed)
        ));
        md.push_str(&link_report(
            *section_start.lock().unwrap_or_else(|e| e.into_inner()),
        ));
        print!("{md}");
        std::fs::write(args.out.join(name), md)
    };

    if wants(Section::Executor) {
        let mut md = header("Executor: ns per job, delayed-executor vs rayon");
        let table = executor_section(&workers, args.runs);
        std::fs::write(
            args.out.join("executor.csv"),
            machine.csv_comment() + &table.csv(),
        )?;
        writeln!(md, "Spawn: {} empty jobs spawned from a worker in one scope; ns per job. Join: a binary `join` recursion of 2^20 leaves (2^20 - 1 joins); ns per leaf. The two systems alternate run by run.\n", delayed_bench::executor_jobs::SPAWN_JOBS)?;
        md.push_str(&table.markdown());
        write_md("executor.md", md)?;
    }
    if wants(Section::Dag) {
        let mut md = header(&format!(
            "DAG overhead: no-op tasks, about 2^{} nodes per shape",
            args.log2
        ));
        let (table, pairs, latency, bars) = dag_section(&workers, &args);
        std::fs::write(
            args.out.join("overhead.csv"),
            machine.csv_comment() + &table.csv(),
        )?;
        std::fs::write(
            args.out.join("ready-latency.csv"),
            machine.csv_comment() + &latency.csv(),
        )?;
        writeln!(md, "Build: constructing what the system runs (delayed's `Graph`; the successor lists and input counts of the hand-written schedulers; nothing for the sequential loop), ns per node. Compute: one run with fresh per-run state, ns per task; the runs of all systems and worker counts of a shape alternate (run 1 of each, then run 2 of each, ...), so a slow period of the machine hits them alike. Peak memory: the heap high-water mark of one build + compute above what was live before, per node (the input DAG, shared by all systems, is not counted). The counter starts from zero, so memory allocated before a measurement and freed during it counts negative: where a 1-worker row shows less than the 2-worker row of the same shape, the larger is the peak.\n")?;
        writeln!(md, "Where a build's and a chain's nanoseconds go for `delayed` (perf profiles): [overhead-breakdown.md](overhead-breakdown.md).\n")?;
        md.push_str(&table.markdown());
        writeln!(
            md,
            "\n## More workers against {} (compute, run by run)\n",
            workers[0]
        )?;
        writeln!(md, "Each run's compute time on more workers over the same run's on {} (the runs alternate, so run `i` of each saw the machine alike): the median of these ratios, their range, and in how many runs the larger worker count was faster. A range that straddles 1 is a tie within this machine's noise.\n", workers[0])?;
        md.push_str(&pairs.markdown());
        writeln!(md, "\n## Ready-to-start latency (ns)\n")?;
        writeln!(md, "From each node's last input finishing to the node starting, measured inside the tasks (an upper bound on the scheduler's own latency), one run each.\n")?;
        md.push_str(&latency.markdown());
        let caption = format!("ns per no-op task, {label}, commit {}", machine.commit);
        plot::overhead_svg(&args.out.join("overhead.svg"), &bars, &caption)?;
        write_md("overhead.md", md)?;
    }
    if wants(Section::Scaling) {
        let mut md = header(&format!(
            "Scaling: {} tasks of about {} µs + a sink",
            scaling::TASKS,
            scaling::TASK_TIME.as_micros()
        ));
        let max = workers.iter().copied().max().unwrap_or(2);
        let (table, points) = scaling_section(max, args.runs);
        std::fs::write(
            args.out.join("scaling.csv"),
            machine.csv_comment() + &table.csv(),
        )?;
        writeln!(
            md,
            "Speedup over the sequential loop on the same tasks, from the medians (and from the best runs, the least disturbed by other processes); efficiency = speedup (median) / workers. CPU share: the process's CPU time over (wall time x CPUs), median over the runs; under 1 means other processes held the CPUs during the run (this machine is shared), so the speedup there understates the scheduler.\n"
        )?;
        md.push_str(&table.markdown());
        let caption = format!("speedup, {label}, commit {}", machine.commit);
        plot::scaling_svg(&args.out.join("scaling.svg"), &points, &caption)?;
        write_md("scaling.md", md)?;
    }
    if wants(Section::Small) {
        let mut md = header(&format!(
            "Small computes: two no-op tasks and their sum, {SMALL_COMPUTES} computes per run"
        ));
        let table = small_section(&workers, args.runs);
        std::fs::write(
            args.out.join("small-compute.csv"),
            machine.csv_comment() + &table.csv(),
        )?;
        writeln!(md, "What a program that computes one small graph per step of its loop pays per compute: the hand-off from its thread to the pool's and back. `delayed`: a new graph built and computed each time, or one graph computed again (`compute_on` from the main thread); rayon: `ThreadPool::install` of a `join` of the two tasks. Microseconds per compute; the three alternate run by run.\n")?;
        md.push_str(&table.markdown());
        write_md("small-compute.md", md)?;
    }
    Ok(())
}

/// Computes per run of the small-computes section.
const SMALL_COMPUTES: usize = 5_000;

/// The small-computes section: per worker count, the median µs per compute
/// of each kind, the kinds alternating run by run.
fn small_section(workers: &[usize], runs: usize) -> Table {
    let mut table = Table::new([
        "workers",
        "delayed, built and computed, µs",
        "delayed, computed again, µs",
        "rayon install(join), µs",
    ]);
    for &w in workers {
        eprintln!("small computes on {w} workers");
        let pools = SmallPools::new(w);
        let mut samples = [Vec::new(), Vec::new(), Vec::new()];
        quiet();
        for what in SmallCompute::ALL {
            pools.us_per_compute(what, SMALL_COMPUTES / 10); // warm-up
        }
        for _ in 0..runs {
            for (what, s) in SmallCompute::ALL.into_iter().zip(&mut samples) {
                s.push(pools.us_per_compute(what, SMALL_COMPUTES));
            }
        }
        let mut row = vec![w.to_string()];
        row.extend(samples.iter().map(|s| cell(Some(median(s)), 2)));
        table.push(row);
    }
    table
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Lets the last pool's threads go to sleep before the next one starts.
fn settle() {
    std::thread::sleep(Duration::from_millis(50));
}

/// Waits (up to 10 s) for other processes to leave the CPUs alone, and
/// (up to `LINK_WAIT`, at most `LINK_PATIENCE` in all) for the CPUs'
/// cache-line round trip to be near its usual value (`cross_cpu`); counts
/// the measurements that started on a busy machine anyway (those on a slow
/// link, `Link` counts).
fn quiet() {
    if !wait_for_quiet(Duration::from_secs(10)) {
        BUSY_STARTS.fetch_add(1, Ordering::Relaxed);
    }
    let mut link = LINK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(link) = link.as_mut() {
        let mut waited = LINK_WAITED.lock().unwrap_or_else(|e| e.into_inner());
        let patience = LINK_PATIENCE.saturating_sub(*waited).min(LINK_WAIT);
        let start = Instant::now();
        link.wait_for_near(patience);
        *waited += start.elapsed();
    }
}

static BUSY_STARTS: AtomicUsize = AtomicUsize::new(0);

/// The link between the first two CPUs, set up in `main`.
static LINK: Mutex<Option<Link>> = Mutex::new(None);

/// At most this long before one measurement waiting for a fast link.
const LINK_WAIT: Duration = Duration::from_secs(20);

/// At most this long, over the whole run, waiting for a fast link: a run on
/// a machine that stays slow still ends.
const LINK_PATIENCE: Duration = Duration::from_secs(600);
static LINK_WAITED: Mutex<Duration> = Mutex::new(Duration::ZERO);

/// What the link probes said since `since` (`link_mark` at a section's
/// start), for the foot of its file.
fn link_report(since: (usize, usize)) -> String {
    let link = LINK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(link) = link.as_ref() else {
        return "- cross-CPU round trip: not probed (fewer than 2 CPUs here, or pinning refused)\n"
            .into();
    };
    let (a, b) = link.cpus();
    format!(
        "- cross-CPU round trip (a cache line between CPUs {a} and {b}, probed before each measurement): median {:.0} ns, usual {:.0} ns (the median of the faster half of the run's probes); {} of {} probes over {} times the usual; measurements that started on such a slow link after waiting {} s: {}\n",
        link.median_ns(since.0),
        link.usual_ns(),
        link.slow_probes(since.0),
        link.probes().len().saturating_sub(since.0),
        cross_cpu::SLOW,
        LINK_WAIT.as_secs(),
        link.slow_starts().saturating_sub(since.1)
    )
}

/// The link's probes and slow starts so far: where a section starts.
fn link_mark() -> (usize, usize) {
    let link = LINK.lock().unwrap_or_else(|e| e.into_inner());
    link.as_ref()
        .map_or((0, 0), |l| (l.probes().len(), l.slow_starts()))
}

fn executor_section(workers: &[usize], runs: usize) -> Table {
    let mut table = Table::new([
        "workload",
        "workers",
        "delayed-executor ns/job",
        "rayon ns/job",
        "delayed / rayon",
    ]);
    for workload in [JobWorkload::Spawn, JobWorkload::Join] {
        for &w in workers {
            eprintln!("executor: {} on {w} workers", workload.name());
            let pools = [
                JobPool::new(JobSystem::Delayed, w),
                JobPool::new(JobSystem::Rayon, w),
            ];
            let mut samples = [Vec::new(), Vec::new()];
            quiet();
            for pool in &pools {
                pool.run(workload); // warm-up: threads started, deques grown
            }
            // Alternate the two systems run by run, so that a burst of load
            // from elsewhere hits both.
            for _ in 0..runs {
                for (pool, s) in pools.iter().zip(&mut samples) {
                    settle();
                    s.push(pool.ns_per_job(workload));
                }
            }
            let (ours, rayon) = (median(&samples[0]), median(&samples[1]));
            table.push([
                workload.name().to_string(),
                w.to_string(),
                cell(Some(ours), 1),
                cell(Some(rayon), 1),
                cell(Some(ours / rayon), 2),
            ]);
        }
    }
    table
}

fn dag_section(workers: &[usize], args: &Args) -> (Table, Table, Table, Vec<Bar>) {
    let (runs, log2) = (args.runs, args.log2);
    let picked = |names: &[String], name: &str| names.is_empty() || names.iter().any(|n| n == name);
    let mut table = Table::new([
        "shape",
        "system",
        "workers",
        "nodes",
        "edges",
        "build ns/node",
        "compute ns/task",
        "peak bytes/node",
    ]);
    let mut pairs = Table::new([
        "shape",
        "system",
        "workers",
        "median ratio",
        "min",
        "max",
        "runs faster",
    ]);
    let mut latency = Table::new(["shape", "system", "workers", "p50", "p99", "p99.9", "max"]);
    let mut bars = Vec::new();
    for shape in Shape::ALL
        .into_iter()
        .filter(|s| picked(&args.shapes, s.name()))
    {
        let dag = Arc::new(shape.dag(log2));
        // Every system and worker count of this shape, started once.
        let mut runners = Vec::new();
        for &w in workers {
            for system in System::DAG_ROWS
                .into_iter()
                .filter(|s| picked(&args.systems, s.name()))
            {
                if !system.is_parallel() && w != workers[0] {
                    continue; // the sequential loop has no worker count
                }
                let runner = Runner::new(system, w);
                quiet();
                dag_overhead::measure_once(&runner, &dag); // warm-up
                runners.push((w, system, runner));
            }
        }
        // Run 1 of each, then run 2 of each, ...: a slow period of this
        // shared machine (two-thread runs of every system here went from
        // about 50 to about 100 ns per task for minutes at a time) then
        // hits every row alike instead of whichever row it fell on.
        let mut timings: Vec<Vec<Overhead>> = vec![Vec::with_capacity(runs); runners.len()];
        for run in 0..runs {
            eprintln!("dag: {} / run {} of {runs}", shape.name(), run + 1);
            for ((_, _, runner), timing) in runners.iter().zip(&mut timings) {
                quiet();
                timing.push(dag_overhead::measure_once(runner, &dag));
            }
        }
        for ((w, system, _), timing) in runners.iter().zip(&timings) {
            let fewest = runners
                .iter()
                .position(|(v, s, _)| *v == workers[0] && s == system);
            if let Some(fewest) = fewest.filter(|_| system.is_parallel() && *w != workers[0]) {
                let r = dag_overhead::paired_ratios(&timings[fewest], timing);
                pairs.push([
                    shape.name().to_string(),
                    system.name().to_string(),
                    format!("{w} / {}", workers[0]),
                    cell(Some(r.median), 2),
                    cell(Some(r.min), 2),
                    cell(Some(r.max), 2),
                    format!("{} of {}", r.below_one, r.runs),
                ]);
            }
        }
        for ((w, system, runner), timing) in runners.iter().zip(&timings) {
            let (w, system) = (*w, *system);
            let Overhead {
                build_ns_per_node,
                compute_ns_per_task,
            } = dag_overhead::medians(timing);
            let peak = dag_overhead::peak_bytes_per_node(&ALLOC, runner, &dag);
            let h = dag_overhead::ready_latency(runner, &dag);
            let shown_workers = if system.is_parallel() {
                w.to_string()
            } else {
                "-".into()
            };
            table.push([
                shape.name().to_string(),
                system.name().to_string(),
                shown_workers.clone(),
                dag.nodes().to_string(),
                dag.edges().to_string(),
                cell(system.is_parallel().then_some(build_ns_per_node), 1),
                cell(Some(compute_ns_per_task), 1),
                cell(Some(peak), 1),
            ]);
            latency.push([
                shape.name().to_string(),
                system.name().to_string(),
                shown_workers,
                h.value_at_quantile(0.5).to_string(),
                h.value_at_quantile(0.99).to_string(),
                h.value_at_quantile(0.999).to_string(),
                h.max().to_string(),
            ]);
            let sequential_rows = if system.is_parallel() {
                vec![w]
            } else {
                workers.to_vec()
            };
            for panel in sequential_rows {
                bars.push(Bar {
                    shape: shape.name().to_string(),
                    system: system.name().to_string(),
                    workers: panel,
                    ns_per_task: compute_ns_per_task,
                });
            }
        }
    }
    (table, pairs, latency, bars)
}

fn scaling_section(max_workers: usize, runs: usize) -> (Table, Vec<Point>) {
    let calibrate_start = Instant::now();
    let workload = Scaling::new(scaling::TASKS, scaling::TASK_TIME);
    eprintln!("scaling: calibrated in {:?}", calibrate_start.elapsed());
    quiet();
    let seq = workload.measure(&Runner::new(System::Sequential, 1), runs, 1);
    let secs = |d: Duration| d.as_secs_f64();
    let per_task_us = secs(seq.median) * 1e6 / workload.dag().nodes() as f64;
    let mut table = Table::new([
        "system",
        "workers",
        "median ms",
        "best ms",
        "speedup (median)",
        "efficiency",
        "speedup (best)",
        "CPU share",
    ]);
    table.push([
        "sequential".to_string(),
        "-".into(),
        cell(Some(secs(seq.median) * 1e3), 1),
        cell(Some(secs(seq.best) * 1e3), 1),
        "1.00".into(),
        "-".into(),
        "1.00".into(),
        cell(Some(seq.cpu_share), 2),
    ]);
    let cpus = delayed_bench::affinity::allowed_cpus().len();
    let mut points = Vec::new();
    for system in System::ALL.into_iter().filter(|s| s.is_parallel()) {
        for w in 1..=max_workers {
            eprintln!("scaling: {} on {w} workers", system.name());
            let runner = Runner::new(system, w);
            quiet();
            let run = workload.measure(&runner, runs, w.min(cpus));
            let speedup = secs(seq.median) / secs(run.median);
            table.push([
                system.name().to_string(),
                w.to_string(),
                cell(Some(secs(run.median) * 1e3), 1),
                cell(Some(secs(run.best) * 1e3), 1),
                cell(Some(speedup), 2),
                cell(Some(speedup / w as f64), 2),
                cell(Some(secs(seq.best) / secs(run.best)), 2),
                cell(Some(run.cpu_share), 2),
            ]);
            points.push(Point {
                system: system.name().to_string(),
                workers: w,
                speedup,
            });
        }
    }
    eprintln!("scaling: sequential task {per_task_us:.1} µs (median)");
    (table, points)
}
