//! The overhead workload: no-op tasks on a million-node [`Dag`], build and
//! compute timed apart, plus peak memory and ready-to-start latency.

use std::sync::Arc;

use hdrhistogram::Histogram;

use crate::alloc_counter::CountingAlloc;
use crate::dag::Dag;
use crate::peers::{no_op, Runner};
use crate::ready_latency::ReadyLatency;
use crate::timing::{median, timed};

/// Build and compute times per node of one run on a freshly built graph
/// (`measure_once`), or their medians over several (`medians`).
#[derive(Clone, Copy, Debug)]
pub struct Overhead {
    /// Build time per node, ns.
    pub build_ns_per_node: f64,
    /// Compute time per task, ns.
    pub compute_ns_per_task: f64,
}

/// One build and compute of `dag` with no-op tasks, timed apart, per node;
/// the graph is dropped outside the timed regions. For callers that
/// alternate systems run by run (so that a slow period of a shared machine
/// hits each alike) and take the `medians` themselves.
///
/// ```
/// use std::sync::Arc;
/// use delayed_bench::{dag_overhead, peers::{Runner, System}, shapes::Shape};
///
/// let dag = Arc::new(Shape::Chain.dag(8));
/// let runner = Runner::new(System::Delayed, 1);
/// let runs: Vec<_> = (0..3).map(|_| dag_overhead::measure_once(&runner, &dag)).collect();
/// assert!(dag_overhead::medians(&runs).compute_ns_per_task > 0.0);
/// ```
pub fn measure_once(runner: &Runner, dag: &Arc<Dag>) -> Overhead {
    let n = dag.nodes() as f64;
    let (built, b) = timed(|| runner.build(dag, no_op));
    let ((), c) = timed(|| runner.compute(&built));
    drop(built);
    Overhead {
        build_ns_per_node: b.as_nanos() as f64 / n,
        compute_ns_per_task: c.as_nanos() as f64 / n,
    }
}

/// The medians of build and compute times over `runs`.
pub fn medians(runs: &[Overhead]) -> Overhead {
    let build: Vec<f64> = runs.iter().map(|o| o.build_ns_per_node).collect();
    let compute: Vec<f64> = runs.iter().map(|o| o.compute_ns_per_task).collect();
    Overhead {
        build_ns_per_node: median(&build),
        compute_ns_per_task: median(&compute),
    }
}

/// Compute time of `more` over that of `fewer` (two worker counts of one
/// system), run by run: the runs alternate, so run `i` of each saw the
/// machine alike, and the spread of these ratios says whether a
/// difference between the medians is more than the machine's noise.
///
/// ```
/// use delayed_bench::dag_overhead::{paired_ratios, Overhead};
///
/// let run = |ns| Overhead { build_ns_per_node: 1.0, compute_ns_per_task: ns };
/// let ratios = paired_ratios(&[run(10.0), run(20.0)], &[run(5.0), run(30.0)]);
/// assert_eq!(ratios.median, 1.0);
/// assert_eq!((ratios.min, ratios.max), (0.5, 1.5));
/// assert_eq!((ratios.below_one, ratios.runs), (1, 2));
/// ```
pub fn paired_ratios(fewer: &[Overhead], more: &[Overhead]) -> Ratios {
    let ratios: Vec<f64> = fewer
        .iter()
        .zip(more)
        .map(|(f, m)| m.compute_ns_per_task / f.compute_ns_per_task)
        .collect();
    Ratios {
        median: median(&ratios),
        min: ratios.iter().copied().fold(f64::INFINITY, f64::min),
        max: ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        below_one: ratios.iter().filter(|&&r| r < 1.0).count(),
        runs: ratios.len(),
    }
}

/// What [`paired_ratios`] found.
#[derive(Clone, Copy, Debug)]
pub struct Ratios {
    /// The median of the run-by-run ratios.
    pub median: f64,
    /// The smallest ratio.
    pub min: f64,
    /// The largest ratio.
    pub max: f64,
    /// Runs in which the larger worker count was faster.
    pub below_one: usize,
    /// Runs compared.
    pub runs: usize,
}

/// Peak heap bytes per node of one build and compute of `dag` (above what
/// was live before: the input `Dag` itself is not counted).
pub fn peak_bytes_per_node(alloc: &CountingAlloc, runner: &Runner, dag: &Arc<Dag>) -> f64 {
    // What earlier graphs left for reuse would be taken instead of
    // allocated, and not counted.
    delayed::release_memory();
    alloc.start();
    let built = runner.build(dag, no_op);
    runner.compute(&built);
    let peak = alloc.stop();
    drop(built);
    peak as f64 / dag.nodes() as f64
}

/// Ready-to-start latency of every node with inputs, over one run (see
/// [`ReadyLatency`] for what it includes).
pub fn ready_latency(runner: &Runner, dag: &Arc<Dag>) -> Histogram<u64> {
    let probe = ReadyLatency::new(dag);
    let built = runner.build(dag, probe.task());
    runner.compute(&built);
    probe.histogram()
}
