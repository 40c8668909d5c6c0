//! A target for `perf`: builds a 2^20-node no-op chain or 1024-wide
//! wavefront through the public API many times, or builds it once and
//! computes it many times, and prints the best time per node (for `build`,
//! also the best time to drop the graph). The
//! breakdowns in `results/overhead.md` come from `perf record` over it.
//!
//! ```text
//! cargo build --release -p delayed-bench --example profile_dag
//! perf record -g target/release/examples/profile_dag compute chain 30 1
//! perf record -g target/release/examples/profile_dag build wavefront 20
//! target/release/examples/profile_dag build-threads chain 10 2
//! ```
//!
//! Arguments: `build`, `compute` or `build-threads`; `chain` or
//! `wavefront`; repetitions (30); workers for `compute`, threads for
//! `build-threads` (1). `build-threads` adds the chain's or wavefront's
//! node count as independent tasks, split over the threads, and prints the
//! time per node with 1 thread and with that many.

use std::time::Instant;

use delayed::{Delayed, Executor, Graph};
// The overhead tables' task: nothing the optimizer can remove.
use delayed_bench::peers::no_op as noop;

/// Nodes per graph.
const NODES: u32 = 1 << 20;
/// The wavefront's width.
const WIDTH: u32 = 1 << 10;

/// Adds `NODES` tasks shaped as `shape` to a new graph, keeping the handles
/// as a user's loop does, and returns the graph with its last node.
fn build(shape: &str) -> (Graph, Delayed<()>) {
    let g = Graph::new();
    let mut nodes: Vec<Delayed<()>> = Vec::with_capacity(NODES as usize);
    for i in 0..NODES {
        let (row, column) = (i / WIDTH, i % WIDTH);
        let node = match (shape, row, column) {
            (_, 0, 0) => g.delayed("noop", move || noop(i)),
            ("chain", ..) | (_, 0, _) => g.task("noop", &nodes[i as usize - 1], move |_| noop(i)),
            (_, _, 0) => g.task("noop", &nodes[(i - WIDTH) as usize], move |_| noop(i)),
            _ => g.task(
                "noop",
                (&nodes[(i - WIDTH) as usize], &nodes[i as usize - 1]),
                move |_| noop(i),
            ),
        };
        nodes.push(node);
    }
    let last = nodes.pop().expect("NODES > 0");
    (g, last)
}

/// Adds `NODES` independent tasks from `threads` threads at once, each its
/// share; nanoseconds per node.
fn build_threads(threads: u32) -> f64 {
    let g = Graph::new();
    let start = Instant::now();
    let handles: Vec<Vec<Delayed<u32>>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    (0..NODES / threads)
                        .map(|i| g.delayed("noop", move || i))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a building thread panicked"))
            .collect()
    });
    let ns = start.elapsed().as_nanos() as f64 / f64::from(NODES);
    drop((handles, g));
    ns
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map_or("compute", String::as_str);
    let shape = args.get(1).map_or("chain", String::as_str);
    let reps: usize = args.get(2).map_or(Ok(30), |s| s.parse())?;
    let workers: usize = args.get(3).map_or(Ok(1), |s| s.parse())?;
    if !["chain", "wavefront"].contains(&shape) {
        return Err(format!("unknown shape {shape:?}: use chain or wavefront").into());
    }
    let per_node = |start: Instant| start.elapsed().as_nanos() as f64 / f64::from(NODES);
    let mut best = f64::MAX;
    match mode {
        "build" => {
            let mut best_drop = f64::MAX;
            for _ in 0..reps {
                let start = Instant::now();
                let built = build(shape);
                best = best.min(per_node(start));
                let start = Instant::now();
                drop(built);
                best_drop = best_drop.min(per_node(start));
            }
            println!(
                "{shape}: best build {best:.1} ns/node, best drop of the graph \
                 {best_drop:.1} ns/node, of {reps}"
            );
        }
        "compute" => {
            let executor = Executor::builder().workers(workers).build()?;
            let (_graph, last) = build(shape);
            let mut times = Vec::with_capacity(reps);
            for _ in 0..reps {
                let start = Instant::now();
                last.compute_on(&executor)?;
                times.push(per_node(start));
            }
            times.sort_by(f64::total_cmp);
            best = times.first().copied().unwrap_or(f64::NAN);
            let median = times.get(reps / 2).copied().unwrap_or(f64::NAN);
            println!(
                "{shape}: best compute {best:.1} ns/task, median {median:.1}, of {reps} on \
                 {workers} workers"
            );
        }
        "build-threads" => {
            let threads = u32::try_from(workers)?.max(1);
            let (mut one, mut many) = (f64::MAX, f64::MAX);
            for _ in 0..reps {
                one = one.min(build_threads(1));
                many = many.min(build_threads(threads));
            }
            println!(
                "independent tasks: best build {one:.1} ns/node from 1 thread, \
                 {many:.1} from {threads} at once, of {reps}"
            );
        }
        _ => {
            return Err(
                format!("unknown mode {mode:?}: use build, compute or build-threads").into(),
            )
        }
    }
    Ok(())
}
