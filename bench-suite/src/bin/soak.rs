//! `soak`: random DAGs (1 to 1M tasks, some with injected panics and errors,
//! some tasks computing nested graphs) computed back to back on one
//! executor for a given time, with an exactly-once counter per task and a
//! counting allocator, to show that the executor and the graph runner lose
//! no task, run none twice, leak nothing and never hang.
//!
//! ```text
//! cargo run --release -p delayed-bench --bin soak -- --minutes 10
//! ```
//!
//! After each graph it checks, against a sequential reference:
//! - the result (or that the compute failed, naming a task that may fail);
//! - every task ran at most once (a per-task `AtomicU8`): *tasks run twice*;
//! - after a success, every needed task ran: *tasks lost*; tasks outside the
//!   targets' ancestors, or downstream of a failure, never ran: *spurious*;
//! - live heap allocations (a counting global allocator), once the graph,
//!   its results and the checker's own arrays are dropped, against the
//!   baseline taken before the first graph. Crossbeam's deques retire the
//!   buffers they outgrow or shrink through its epoch collector, which frees
//!   them a little later, so a single reading may sit a few allocations
//!   above the baseline; the *floor* of the readings over each report
//!   window does not move unless something leaks, and the readings stay
//!   under a bound of a few full collector bags. A floor that rises from
//!   the second window to the last by more than a few allocations, or a
//!   reading over that bound, is a leak. (With graphs small enough that no
//!   deque ever grows, `--max-tasks 50`, every reading is exactly the
//!   baseline.)
//!
//! A watchdog prints every thread's state and exits with status 2 if one
//! graph takes longer than `--hang-secs`. The exit status is 1 if any count
//! that must be zero is not.
//!
//! Invariants exercised: `graph/src/run/README.md` (steps 1 to 8 and its
//! "Invariants") and `executor/src/sleep/README.md` (I1..I5).

use std::io::Write as _;
use std::panic;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use clap::Parser;
use delayed::{Delayed, Executor, Graph};
use delayed_bench::alloc_counter::CountingAlloc;
use delayed_bench::soak_dag::{nested_expected, nested_len, Fault, Rng, Spec, INJECTED};

// ---------------------------------------------------------------------------
// Counting allocator

/// Counts live heap allocations and bytes of the whole process (from the
/// start of `main`).
#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc::new();

fn live() -> (i64, i64) {
    let (allocs, bytes) = GLOBAL.live();
    (allocs as i64, bytes as i64)
}

// ---------------------------------------------------------------------------
// Command line

#[derive(Parser, Debug)]
#[command(
    about = "Soak test: random faulty DAGs on one executor, with exactly-once and leak checks"
)]
struct Args {
    /// How long to run, in minutes.
    #[arg(long, default_value_t = 10.0)]
    minutes: f64,
    /// Worker threads [default: the executor's default count].
    #[arg(long)]
    workers: Option<usize>,
    /// Largest graph, in tasks (sizes are log-uniform from 1 to this).
    #[arg(long, default_value_t = 1_000_000)]
    max_tasks: u64,
    /// Share of graphs that get injected failures (panics or `Err`s).
    #[arg(long, default_value_t = 0.3)]
    fail_share: f64,
    /// Per-mille of tasks, in graphs of at most 10,000 tasks, that compute a
    /// nested graph of their own.
    #[arg(long, default_value_t = 2)]
    nested_per_mille: u64,
    /// Seed of the graph sequence (graph `i` uses seed `seed + i`).
    #[arg(long, default_value_t = 0x50A6)]
    seed: u64,
    /// Progress line every this many seconds.
    #[arg(long, default_value_t = 30)]
    report_secs: u64,
    /// A single graph running longer than this is a hang.
    #[arg(long, default_value_t = 300)]
    hang_secs: u64,
}

/// Totals over the whole run, also updated by nested computes on workers.
#[derive(Default)]
struct Totals {
    graphs: AtomicU64,
    tasks: AtomicU64,
    tasks_needed: AtomicU64,
    tasks_run: AtomicU64,
    nested_graphs: AtomicU64,
    faults_planted: AtomicU64,
    faults_fired: AtomicU64,
    computes_failed: AtomicU64,
    lost: AtomicU64,
    twice: AtomicU64,
    spurious: AtomicU64,
    wrong: AtomicU64,
}

/// Runs the nested graph of task `k` on `ex`, checking it like a top-level
/// one (exactly once; the result).
fn nested_compute(ex: &Executor, seed: u64, k: usize, totals: &Totals) -> u64 {
    let n = nested_len(seed, k);
    let runs: Arc<[AtomicU8]> = (0..n).map(|_| AtomicU8::new(0)).collect();
    let g = Graph::new();
    let mut chain: Vec<Delayed<u64>> = Vec::with_capacity(n);
    for j in 0..n {
        let runs = Arc::clone(&runs);
        let step = j as u64 * 3 + 1;
        let node = match chain.last() {
            None => g.delayed("nested", move || {
                runs[j].fetch_add(1, Ordering::Relaxed);
                step
            }),
            Some(prev) => g.task("nested", prev, move |v| {
                runs[j].fetch_add(1, Ordering::Relaxed);
                v.wrapping_add(step)
            }),
        };
        chain.push(node);
    }
    let sum = g.task("nested-sum", &chain, |vs| {
        vs.into_iter().fold(0u64, |a, v| a.wrapping_add(*v))
    });
    let result = sum.compute_on(ex);
    totals.nested_graphs.fetch_add(1, Ordering::Relaxed);
    totals.tasks.fetch_add(n as u64 + 1, Ordering::Relaxed);
    totals
        .tasks_needed
        .fetch_add(n as u64 + 1, Ordering::Relaxed);
    // The sum task has no counter: it ran if the result is there.
    if result.is_ok() {
        totals.tasks_run.fetch_add(1, Ordering::Relaxed);
    }
    for r in runs.iter() {
        match r.load(Ordering::Relaxed) {
            0 => totals.lost.fetch_add(1, Ordering::Relaxed),
            1 => totals.tasks_run.fetch_add(1, Ordering::Relaxed),
            _ => totals.twice.fetch_add(1, Ordering::Relaxed),
        };
    }
    match result {
        Ok(v) if v == nested_expected(seed, k) => v,
        _ => {
            totals.wrong.fetch_add(1, Ordering::Relaxed);
            0
        }
    }
}

/// Builds, computes and checks one graph. Returns the number of tasks.
fn one_graph(ex: &Executor, spec: &Spec, totals: &Arc<Totals>) -> usize {
    let n = spec.len();
    let runs: Arc<[AtomicU8]> = (0..n).map(|_| AtomicU8::new(0)).collect();
    let fired = Arc::new(AtomicU64::new(0));
    let g = Graph::new();
    let mut nodes: Vec<Delayed<Box<u64>>> = Vec::with_capacity(n);
    let mut ins: Vec<Delayed<Box<u64>>> = Vec::new();
    for k in 0..n {
        let fault = spec.faults[k];
        let salt = Spec::salt(spec.seed, k);
        let (runs, fired, totals) = (Arc::clone(&runs), Arc::clone(&fired), Arc::clone(totals));
        let ex2 = ex.clone();
        let seed = spec.seed;
        let body =
            move |inputs: &mut dyn Iterator<Item = &Box<u64>>| -> Result<Box<u64>, &'static str> {
                runs[k].fetch_add(1, Ordering::Relaxed);
                if fault == Fault::PanicFirst {
                    fired.fetch_add(1, Ordering::Relaxed);
                    panic!("{INJECTED}: task {k} of graph {seed}, first thing");
                }
                let mut sum = inputs.fold(salt, |a, v| a.wrapping_add(**v));
                match fault {
                    Fault::PanicAfterReading => {
                        fired.fetch_add(1, Ordering::Relaxed);
                        panic!("{INJECTED}: task {k} of graph {seed}, after its inputs");
                    }
                    Fault::Err => {
                        fired.fetch_add(1, Ordering::Relaxed);
                        return Err("soak: injected error");
                    }
                    Fault::Nested => {
                        sum = sum.wrapping_add(nested_compute(&ex2, seed, k, &totals));
                    }
                    _ => {}
                }
                Ok(Box::new(sum))
            };
        ins.clear();
        ins.extend(spec.inputs(k).iter().map(|&i| nodes[i as usize].clone()));
        let node = if ins.is_empty() {
            g.try_delayed("t", move || body(&mut std::iter::empty()))
        } else {
            g.try_task("t", &ins, move |vals| body(&mut vals.into_iter()))
        };
        nodes.push(node);
    }
    drop(ins);
    let targets: Vec<Delayed<Box<u64>>> = spec
        .targets
        .iter()
        .map(|&t| nodes[t as usize].clone())
        .collect();
    drop(nodes);
    let result = delayed::compute_on(&targets, ex);
    drop(targets);
    drop(g);

    let (values, needed) = spec.reference();
    let want: Option<Vec<u64>> = spec.targets.iter().map(|&t| values[t as usize]).collect();
    let failed = result.is_err();
    match (&result, &want) {
        (Ok(got), Some(want)) => {
            let got: Vec<u64> = got.iter().map(|b| **b).collect();
            if &got != want {
                totals.wrong.fetch_add(1, Ordering::Relaxed);
                eprintln!("WRONG RESULT: graph {} ({n} tasks)", spec.seed);
            }
        }
        (Err(e), None) => {
            // The failure named must be a task that fails itself while all
            // its inputs succeed.
            let ok = e.task_key().is_some_and(|k| {
                k < n
                    && spec.faults[k].fails()
                    && needed[k]
                    && spec.inputs(k).iter().all(|&i| values[i as usize].is_some())
            });
            if !ok {
                totals.wrong.fetch_add(1, Ordering::Relaxed);
                eprintln!("WRONG ERROR: graph {}: {e}", spec.seed);
            }
        }
        (got, _) => {
            totals.wrong.fetch_add(1, Ordering::Relaxed);
            eprintln!(
                "WRONG OUTCOME: graph {} ({n} tasks): got {}, want {}",
                spec.seed,
                if got.is_ok() { "Ok" } else { "Err" },
                if want.is_some() { "Ok" } else { "Err" }
            );
        }
    }
    drop(result);

    let (mut lost, mut twice, mut spurious, mut ran) = (0u64, 0u64, 0u64, 0u64);
    for k in 0..n {
        let r = runs[k].load(Ordering::Relaxed);
        ran += u64::from(r > 0);
        if r > 1 {
            twice += 1;
        }
        let upstream_failed = spec.inputs(k).iter().any(|&i| values[i as usize].is_none());
        if r > 0 && (!needed[k] || upstream_failed) {
            spurious += 1;
        }
        if r == 0 && needed[k] && !failed {
            lost += 1;
        }
    }
    if lost + twice + spurious > 0 {
        eprintln!(
            "VIOLATION: graph {} ({n} tasks): lost {lost}, run twice {twice}, spurious {spurious}",
            spec.seed
        );
    }
    totals.graphs.fetch_add(1, Ordering::Relaxed);
    totals.tasks.fetch_add(n as u64, Ordering::Relaxed);
    let needed_count = needed.iter().filter(|&&x| x).count() as u64;
    totals
        .tasks_needed
        .fetch_add(needed_count, Ordering::Relaxed);
    totals.tasks_run.fetch_add(ran, Ordering::Relaxed);
    totals.lost.fetch_add(lost, Ordering::Relaxed);
    totals.twice.fetch_add(twice, Ordering::Relaxed);
    totals.spurious.fetch_add(spurious, Ordering::Relaxed);
    let planted = spec.faults.iter().filter(|f| f.fails()).count() as u64;
    totals.faults_planted.fetch_add(planted, Ordering::Relaxed);
    totals
        .faults_fired
        .fetch_add(fired.load(Ordering::Relaxed), Ordering::Relaxed);
    totals
        .computes_failed
        .fetch_add(u64::from(failed), Ordering::Relaxed);
    n
}

// ---------------------------------------------------------------------------
// Process figures

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn thread_states() -> String {
    let mut out = String::new();
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for t in tasks.flatten() {
            let p = t.path();
            let name = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
            let stat = std::fs::read_to_string(p.join("stat")).unwrap_or_default();
            let state = stat.rsplit(") ").next().unwrap_or("").split(' ').next();
            let wchan = std::fs::read_to_string(p.join("wchan")).unwrap_or_default();
            out += &format!(
                "  {} state {} wchan {}\n",
                name.trim_end(),
                state.unwrap_or("?"),
                wchan
            );
        }
    }
    out
}

/// Gives crossbeam's epoch collector a few rounds of stealing on every
/// worker, so deque buffers retired during the last graph get a chance to be
/// freed, until live allocations are back at `baseline` (or `rounds` run
/// out, `pause` apart). Returns the live allocations above the baseline.
fn settle(ex: &Executor, baseline: i64, rounds: usize, pause: Duration) -> i64 {
    for _ in 0..rounds {
        let delta = live().0 - baseline;
        if delta <= 0 {
            return delta;
        }
        // Few enough jobs that no deque grows (which would retire a buffer
        // itself); each steal pins the epoch, which collects now and then.
        ex.scope(|s| {
            for _ in 0..16 {
                s.spawn(|_| std::hint::black_box(()));
            }
        });
        thread::sleep(pause);
    }
    live().0 - baseline
}

/// How much the floor of a window may differ from another's without a leak:
/// which retired deque buffers the collector still holds at the best moment
/// of a window varies by a few (0 to 3 in trial runs). A leak of one
/// allocation in 1% of the graphs raised it by 11 in one minute (trial run
/// with a deliberate leak); in a ten-minute run, a leak in 0.1% of the
/// graphs raises it by about as much.
const FLOOR_TOLERANCE: i64 = 8;

/// Live allocations above the baseline after each graph, per report window.
/// Crossbeam's deques retire buffers they outgrow or shrink through its
/// epoch collector, which frees them later, a bounded number per thread
/// (at most 64 deferred frees per thread-local bag): so single readings
/// wobble above the baseline, but the *floor* of a window (its smallest
/// reading, where the collector had caught up) only rises if something
/// leaks. A leak of even one allocation per window raises it for good.
struct Window {
    floor: i64,
    top: i64,
}

impl Window {
    fn new() -> Window {
        Window {
            floor: i64::MAX,
            top: i64::MIN,
        }
    }

    fn add(&mut self, delta: i64) {
        self.floor = self.floor.min(delta);
        self.top = self.top.max(delta);
    }
}

fn main() {
    GLOBAL.start();
    let args = Args::parse();
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("");
        if !message.starts_with(INJECTED) {
            default_hook(info);
        }
    }));

    let mut builder = Executor::builder().thread_name(|i| format!("soak-{i}"));
    if let Some(w) = args.workers {
        builder = builder.workers(w);
    }
    let ex = builder.build().expect("the executor starts");
    let totals = Arc::new(Totals::default());
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.minutes * 60.0);

    // Watchdog: a graph that takes longer than --hang-secs is a hang.
    let graph_started_ms = Arc::new(AtomicU64::new(0));
    let current_seed = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    {
        let (graph_started_ms, current_seed, done) = (
            Arc::clone(&graph_started_ms),
            Arc::clone(&current_seed),
            Arc::clone(&done),
        );
        let hang = args.hang_secs * 1000;
        thread::Builder::new()
            .name("soak-watchdog".into())
            .spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    thread::sleep(Duration::from_secs(1));
                    let since = graph_started_ms.load(Ordering::Relaxed);
                    let now = started.elapsed().as_millis() as u64;
                    if since > 0 && now.saturating_sub(since) > hang {
                        eprintln!(
                            "HANG: graph {} has run for {} s; threads:\n{}",
                            current_seed.load(Ordering::Relaxed),
                            (now - since) / 1000,
                            thread_states()
                        );
                        std::process::exit(2);
                    }
                }
            })
            .expect("the watchdog starts");
    }

    // Warm up (thread-locals, the panic machinery, deque buffers), then take
    // the baseline of live allocations.
    for i in 0..50 {
        let spec = Spec::random(args.seed.wrapping_sub(1000 + i), 200, i % 2 == 0, 50);
        one_graph(&ex, &spec, &totals);
    }
    for t in [
        &totals.graphs,
        &totals.tasks,
        &totals.tasks_needed,
        &totals.tasks_run,
        &totals.nested_graphs,
        &totals.faults_planted,
        &totals.faults_fired,
        &totals.computes_failed,
    ] {
        t.store(0, Ordering::Relaxed);
    }
    println!(
        "soak: {} workers, {:.1} min, graphs of 1 to {} tasks, {:.0}% with injected failures, seed {:#x}",
        ex.workers(),
        args.minutes,
        args.max_tasks,
        args.fail_share * 100.0,
        args.seed
    );
    let _ = std::io::stdout().flush();
    // The checker's own record, allocated before the baseline.
    let windows = (args.minutes * 60.0 / args.report_secs.max(1) as f64) as usize + 2;
    let mut floors: Vec<i64> = Vec::with_capacity(windows);
    settle(&ex, i64::MIN / 2, 20, Duration::from_millis(1));
    let (baseline, baseline_bytes) = live();
    // Bound on what the epoch collector may hold back: a full bag of
    // deferred frees per thread that ever pinned (workers, this thread, the
    // watchdog) and the bags sealed into its global queue.
    let slack = 64 * (ex.workers() as i64 + 2) * 2;
    println!("baseline: {baseline} live allocations, {baseline_bytes} bytes");

    let mut rng = Rng::new(args.seed ^ 0xD1CE);
    let (mut max_delta, mut at_baseline, mut max_delta_bytes) = (i64::MIN, 0u64, i64::MIN);
    let mut window = Window::new();
    let mut biggest = 0usize;
    let mut last_report = Instant::now();
    let mut i = 0u64;
    while Instant::now() < deadline {
        let seed = args.seed.wrapping_add(i);
        // Log-uniform sizes: as many graphs of 1-10 tasks as of 100k-1M.
        let n =
            ((args.max_tasks as f64).powf(rng.unit()) as usize).clamp(1, args.max_tasks as usize);
        let fail = rng.unit() < args.fail_share;
        let spec = Spec::random(seed, n, fail, args.nested_per_mille);
        current_seed.store(seed, Ordering::Relaxed);
        graph_started_ms.store(
            started.elapsed().as_millis().max(1) as u64,
            Ordering::Relaxed,
        );
        let tasks = one_graph(&ex, &spec, &totals);
        graph_started_ms.store(0, Ordering::Relaxed);
        drop(spec);
        biggest = biggest.max(tasks);

        let delta = settle(&ex, baseline, 3, Duration::ZERO);
        max_delta = max_delta.max(delta);
        max_delta_bytes = max_delta_bytes.max(live().1 - baseline_bytes);
        window.add(delta);
        at_baseline += u64::from(delta <= 0);
        i += 1;

        if last_report.elapsed() >= Duration::from_secs(args.report_secs) {
            println!(
                "[{:>6.1} s] graphs {:>7}, tasks {:>11}, computes failed {:>6}, lost {}, twice {}, spurious {}, wrong {}, live allocations above baseline after each graph {}..{}, VmRSS {} MiB",
                started.elapsed().as_secs_f64(),
                totals.graphs.load(Ordering::Relaxed),
                totals.tasks.load(Ordering::Relaxed),
                totals.computes_failed.load(Ordering::Relaxed),
                totals.lost.load(Ordering::Relaxed),
                totals.twice.load(Ordering::Relaxed),
                totals.spurious.load(Ordering::Relaxed),
                totals.wrong.load(Ordering::Relaxed),
                window.floor,
                window.top,
                status_kb("VmRSS:") / 1024,
            );
            let _ = std::io::stdout().flush();
            if floors.len() < floors.capacity() {
                floors.push(window.floor);
            }
            window = Window::new();
            last_report = Instant::now();
        }
    }
    done.store(true, Ordering::Relaxed);
    if window.floor != i64::MAX && floors.len() < floors.capacity() {
        floors.push(window.floor);
    }
    let final_delta = settle(&ex, baseline, 200, Duration::from_millis(1));
    // A leak raises the floor for good. Things made once, on first use (a
    // lazily grown buffer), raise it once, early; a leak keeps raising it.
    // So the verdict compares the second window with the last one; the
    // rise from the first window is shown too.
    let rise = |from: usize| match (floors.get(from), floors.last()) {
        (Some(a), Some(b)) => b - a,
        _ => 0,
    };
    let (rise_all, rise_after_first) = (rise(0), rise(1));
    let elapsed = started.elapsed();
    let t = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let (lost, twice, spurious, wrong) = (
        t(&totals.lost),
        t(&totals.twice),
        t(&totals.spurious),
        t(&totals.wrong),
    );
    println!();
    println!("| figure | value |");
    println!("|---|---|");
    println!("| run time | {:.1} s |", elapsed.as_secs_f64());
    println!("| workers | {} |", ex.workers());
    println!("| graphs computed | {} |", t(&totals.graphs));
    println!(
        "| nested graphs computed inside tasks | {} |",
        t(&totals.nested_graphs)
    );
    println!("| tasks in those graphs | {} |", t(&totals.tasks));
    println!(
        "| tasks needed (ancestors of the targets asked for) | {} |",
        t(&totals.tasks_needed)
    );
    println!(
        "| tasks run (fewer than needed: failed computes cancel the rest) | {} |",
        t(&totals.tasks_run)
    );
    println!("| largest graph | {biggest} tasks |");
    println!(
        "| failures injected (planted / fired) | {} / {} |",
        t(&totals.faults_planted),
        t(&totals.faults_fired)
    );
    println!(
        "| computes that failed (as injected) | {} |",
        t(&totals.computes_failed)
    );
    println!("| tasks lost (must be 0) | {lost} |");
    println!("| tasks run twice (must be 0) | {twice} |");
    println!(
        "| tasks run that must not (culled or downstream of a failure; must be 0) | {spurious} |"
    );
    println!("| wrong results or errors (must be 0) | {wrong} |");
    println!("| live allocations at baseline | {baseline} ({baseline_bytes} bytes) |");
    println!(
        "| graphs after which live allocations were back at the baseline | {at_baseline} of {} |",
        t(&totals.graphs)
    );
    println!(
        "| live allocations above baseline after a graph, max (epoch garbage; bound {slack}) | {max_delta} |"
    );
    println!("| live bytes above baseline after a graph, max | {max_delta_bytes} |");
    println!(
        "| floor of live allocations above baseline, per {} s window | {} |",
        args.report_secs,
        floors
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("| rise of that floor, first to last window | {rise_all} |");
    println!(
        "| rise of that floor, second to last window (must be <= {FLOOR_TOLERANCE}) | {rise_after_first} |"
    );
    println!("| live allocations above baseline at the end, after settling | {final_delta} |");
    println!("| peak RSS (VmHWM) | {} MiB |", status_kb("VmHWM:") / 1024);
    drop(ex);
    let leaked = rise_after_first > FLOOR_TOLERANCE || max_delta > slack;
    let bad = lost + twice + spurious + wrong > 0 || leaked;
    if bad {
        println!("\nsoak: FAILED");
        std::process::exit(1);
    }
    println!("\nsoak: passed");
}
