//! Ready-to-start latency measured from outside the scheduler: a node becomes
//! ready when its last input finishes, so each task stamps its finish time and,
//! when it starts, subtracts the latest finish among its inputs. The result
//! is an upper bound on the scheduler's own latency (it includes writing the
//! input's output and the decrement that made the node ready).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use hdrhistogram::Histogram;

use crate::dag::{Adjacency, Dag};

/// Per-node timestamps for one run.
#[derive(Debug)]
pub struct ReadyLatency {
    base: Instant,
    inputs: Adjacency,
    finished_ns: Vec<AtomicU64>,
    latency_ns: Vec<AtomicU64>,
}

/// Marks a node without inputs, which has no ready moment of its own.
const NO_LATENCY: u64 = u64::MAX;

impl ReadyLatency {
    /// A probe for one run of `dag`.
    pub fn new(dag: &Dag) -> Arc<Self> {
        Arc::new(ReadyLatency {
            base: Instant::now(),
            inputs: dag.inputs().clone(),
            finished_ns: (0..dag.nodes()).map(|_| AtomicU64::new(0)).collect(),
            latency_ns: (0..dag.nodes())
                .map(|_| AtomicU64::new(NO_LATENCY))
                .collect(),
        })
    }

    /// The task to give the system.
    pub fn task(self: &Arc<Self>) -> impl Fn(u32) + Clone + Send + Sync + 'static {
        let probe = Arc::clone(self);
        move |i| probe.visit(i)
    }

    fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    fn visit(&self, i: u32) {
        let started = self.now_ns();
        let ready = self
            .inputs
            .of(i)
            .iter()
            .map(|&j| self.finished_ns[j as usize].load(Ordering::Relaxed))
            .max();
        if let Some(ready) = ready {
            self.latency_ns[i as usize].store(started.saturating_sub(ready), Ordering::Relaxed);
        }
        self.finished_ns[i as usize].store(self.now_ns(), Ordering::Relaxed);
    }

    /// The latencies of every node that had inputs, in nanoseconds.
    pub fn histogram(&self) -> Histogram<u64> {
        let mut h = Histogram::new(3).expect("3 significant digits is valid");
        for l in &self.latency_ns {
            let l = l.load(Ordering::Relaxed);
            if l != NO_LATENCY {
                h.record(l)
                    .expect("auto-resizing histogram records any value");
            }
        }
        h
    }
}
