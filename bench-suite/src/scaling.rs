//! The scaling workload: 20,000 CPU-bound tasks of about 50 µs each and a
//! sink, on 1..N workers; speedup over the sequential loop.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use crate::dag::Dag;
use crate::peers::Runner;
use crate::shapes::independent_with_sink;
use crate::spin::Spin;
use crate::timing::{median, process_cpu_time, timed};

/// Independent tasks in the workload.
pub const TASKS: usize = 20_000;

/// The intended length of one task.
pub const TASK_TIME: Duration = Duration::from_micros(50);

/// The graph and its calibrated work.
#[derive(Clone, Debug)]
pub struct Scaling {
    dag: Arc<Dag>,
    spin: Spin,
}

impl Scaling {
    /// `tasks` independent tasks of about `task_time` each, and a sink.
    pub fn new(tasks: usize, task_time: Duration) -> Self {
        Scaling {
            dag: Arc::new(independent_with_sink(tasks)),
            spin: Spin::calibrate(task_time),
        }
    }

    /// The graph.
    pub fn dag(&self) -> &Arc<Dag> {
        &self.dag
    }

    /// The task: spin for the calibrated time (the sink too).
    pub fn task(&self) -> impl Fn(u32) + Clone + Send + Sync + 'static {
        let spin = self.spin;
        move |i| {
            black_box(spin.run(u64::from(i)));
        }
    }

    /// Computes the graph `runs` times (build excluded).
    pub fn measure(&self, runner: &Runner, runs: usize, cpus: usize) -> ScalingRun {
        let built = runner.build(&self.dag, self.task());
        let mut walls = Vec::with_capacity(runs);
        let mut shares = Vec::with_capacity(runs);
        for _ in 0..runs {
            let cpu_before = process_cpu_time();
            let wall = timed(|| runner.compute(&built)).1.as_secs_f64();
            let cpu = (process_cpu_time() - cpu_before).as_secs_f64();
            walls.push(wall);
            shares.push(cpu / (wall * cpus as f64));
        }
        ScalingRun {
            median: Duration::from_secs_f64(median(&walls)),
            best: Duration::from_secs_f64(walls.iter().copied().fold(f64::INFINITY, f64::min)),
            cpu_share: median(&shares),
        }
    }
}

/// What [`Scaling::measure`] found.
#[derive(Clone, Copy, Debug)]
pub struct ScalingRun {
    /// The median wall time.
    pub median: Duration,
    /// The shortest wall time: the run least disturbed by other processes.
    pub best: Duration,
    /// The median share of the workers' CPUs the process got: CPU time used /
    /// (wall time x CPUs). Well under 1 on this CPU-bound workload means
    /// other processes held the CPUs, not that the scheduler idled.
    pub cpu_share: f64,
}
