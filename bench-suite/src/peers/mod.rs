//! The systems that run a [`Dag`]: `delayed` and its peers, behind one
//! [`Runner`] so that every table row runs the same graph the same way.
//!
//! A run has two measured halves: [`Runner::build`] (what the system needs
//! from the graph before it can run: `delayed`'s `Graph`, or the successor
//! lists and input counts of a hand-written scheduler) and
//! [`Runner::compute`] (one run, with fresh per-run state).

mod counter_graph;
pub mod delayed_graph;
pub mod naive_pool;
pub mod rayon_counters;
pub mod sequential;
pub mod witness;

use std::sync::Arc;

pub use counter_graph::CounterGraph;
use delayed::Executor;
use delayed_graph::DelayedGraph;
use naive_pool::NaivePool;
use rayon_counters::Variant;

use crate::dag::Dag;

/// A task run once per node, given the node's number.
pub trait NodeTask: Fn(u32) + Clone + Send + Sync + 'static {}
impl<F: Fn(u32) + Clone + Send + Sync + 'static> NodeTask for F {}

/// The task of the overhead tables: nothing, kept from being optimised away.
///
/// Its number goes to `black_box` widened to a word. As a `u32`, `delayed`,
/// which calls each task through its kind's vtable, ran it as a function of
/// its own whose frame was one `push`: the number's 4-byte store into that
/// word, then the `pop` reading the whole word back, which no store could
/// forward, so it waited for both to reach the cache (about 3 ns, and 40 %
/// of the samples of a chain's compute, on the `ret` after the `pop`). A
/// system that inlines the task into its loop (`rayon_inline`,
/// `sequential`) or into a larger job (the naive pool's) never had that
/// frame. Stored as a word, the no-op costs the same wherever it runs
/// (`results/overhead-breakdown.md`, 2026-12-07).
pub fn no_op(i: u32) {
    std::hint::black_box(u64::from(i));
}

/// A system that runs task graphs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum System {
    /// `delayed`: a `Graph` of one task per node, computed on its executor.
    Delayed,
    /// The same, with every task returning a value that has a destructor
    /// ([`delayed_graph::Owned`]): the run counts each value's consumers
    /// and the last one drops it. Only in the overhead tables
    /// ([`System::DAG_ROWS`]).
    DelayedOwned,
    /// rayon with per-node atomic counters, spawning every ready successor.
    RayonCounters,
    /// The same, running one ready successor inline.
    RayonInline,
    /// The naive `Mutex<VecDeque>` + `Condvar` pool.
    NaivePool,
    /// The sequential loop (ignores the worker count).
    Sequential,
}

impl System {
    /// Every system, in table order.
    pub const ALL: [System; 5] = [
        System::Delayed,
        System::RayonCounters,
        System::RayonInline,
        System::NaivePool,
        System::Sequential,
    ];

    /// The overhead tables' rows: every system, and `delayed` with values
    /// that have a destructor after `delayed`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use delayed_bench::{peers::{no_op, Runner, System}, shapes::Shape};
    ///
    /// let dag = Arc::new(Shape::Random.dag(10));
    /// for system in System::DAG_ROWS {
    ///     let runner = Runner::new(system, 2);
    ///     runner.compute(&runner.build(&dag, no_op));
    /// }
    /// ```
    pub const DAG_ROWS: [System; 6] = [
        System::Delayed,
        System::DelayedOwned,
        System::RayonCounters,
        System::RayonInline,
        System::NaivePool,
        System::Sequential,
    ];

    /// The name the tables and plots print.
    pub fn name(self) -> &'static str {
        match self {
            System::Delayed => "delayed",
            System::DelayedOwned => "delayed_owned",
            System::RayonCounters => "rayon_counters",
            System::RayonInline => "rayon_inline",
            System::NaivePool => "naive_pool",
            System::Sequential => "sequential",
        }
    }

    /// Whether the system runs on more than one thread.
    pub fn is_parallel(self) -> bool {
        self != System::Sequential
    }
}

enum Engine {
    Delayed(Executor),
    Rayon(rayon::ThreadPool, Variant),
    Naive(NaivePool),
    Sequential,
}

/// One system with its threads started, ready to build and run graphs.
pub struct Runner {
    system: System,
    workers: usize,
    engine: Engine,
}

/// A graph built for one system, with its task.
pub struct Built<F> {
    plan: Plan,
    task: F,
}

enum Plan {
    Delayed(DelayedGraph),
    Counters(Arc<CounterGraph>),
    Sequential(Arc<Dag>),
}

impl Runner {
    /// Starts `system` with `workers` threads (the sequential loop uses the
    /// calling thread whatever `workers` says).
    pub fn new(system: System, workers: usize) -> Self {
        let rayon_pool = || {
            rayon::ThreadPoolBuilder::new()
                .num_threads(workers)
                .build()
                .expect("rayon pool starts")
        };
        let engine = match system {
            System::Delayed | System::DelayedOwned => Engine::Delayed(
                Executor::builder()
                    .workers(workers)
                    .build()
                    .expect("delayed's executor starts"),
            ),
            System::RayonCounters => Engine::Rayon(rayon_pool(), Variant::Plain),
            System::RayonInline => Engine::Rayon(rayon_pool(), Variant::Inline),
            System::NaivePool => Engine::Naive(NaivePool::new(workers)),
            System::Sequential => Engine::Sequential,
        };
        Runner {
            system,
            workers,
            engine,
        }
    }

    /// The system this runner runs.
    pub fn system(&self) -> System {
        self.system
    }

    /// The worker count it was started with.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Builds what the system needs to run `dag` with `task` on every node.
    pub fn build<F: NodeTask>(&self, dag: &Arc<Dag>, task: F) -> Built<F> {
        let plan = match self.engine {
            Engine::Delayed(_) => Plan::Delayed(DelayedGraph::build(
                dag,
                task.clone(),
                self.system == System::DelayedOwned,
            )),
            Engine::Rayon(..) | Engine::Naive(_) => {
                Plan::Counters(Arc::new(CounterGraph::new(dag)))
            }
            Engine::Sequential => Plan::Sequential(Arc::clone(dag)),
        };
        Built { plan, task }
    }

    /// Runs every node of a built graph once; returns when all have run.
    pub fn compute<F: NodeTask>(&self, built: &Built<F>) {
        match (&self.engine, &built.plan) {
            (Engine::Delayed(ex), Plan::Delayed(graph)) => graph.compute_on(ex),
            (Engine::Rayon(pool, variant), Plan::Counters(graph)) => {
                rayon_counters::run(pool, graph, &built.task, *variant)
            }
            (Engine::Naive(pool), Plan::Counters(graph)) => pool.run_graph(graph, &built.task),
            (Engine::Sequential, Plan::Sequential(dag)) => sequential::run(dag, &built.task),
            _ => unreachable!("a graph runs on the runner that built it"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::witness::Witness;
    use super::*;
    use crate::shapes::Shape;

    fn values(runner: &Runner, dag: &Arc<Dag>) -> Vec<u64> {
        let witness = Witness::new(dag);
        let built = runner.build(dag, witness.task());
        runner.compute(&built);
        witness
            .verdict()
            .unwrap_or_else(|e| panic!("{} on {}: {e}", runner.system().name(), dag.name()))
    }

    #[test]
    fn every_system_runs_every_node_once_in_order_with_sequential_results() {
        for shape in Shape::ALL {
            let dag = Arc::new(shape.dag(12));
            let expected = values(&Runner::new(System::Sequential, 1), &dag);
            for system in System::DAG_ROWS {
                for workers in [1, 2, 3] {
                    let runner = Runner::new(system, workers);
                    // Twice: per-run state must be fresh each time.
                    for _ in 0..2 {
                        assert!(
                            values(&runner, &dag) == expected,
                            "{} {}",
                            system.name(),
                            shape.name()
                        );
                    }
                }
            }
        }
    }
}
