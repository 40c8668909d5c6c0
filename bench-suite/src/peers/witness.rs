//! A task that checks the system running it: every node must run exactly
//! once, after all of its inputs, and see their results. Each node's value is
//! a hash of its number plus its inputs' values, so two systems that ran the
//! same graph correctly end with the same values.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::dag::{Adjacency, Dag};

/// Records what every node saw when it ran.
#[derive(Debug)]
pub struct Witness {
    inputs: Adjacency,
    runs: Vec<AtomicU32>,
    values: Vec<AtomicU64>,
    early_starts: AtomicUsize,
}

impl Witness {
    /// A witness for one run of `dag`.
    pub fn new(dag: &Dag) -> Arc<Self> {
        Arc::new(Witness {
            inputs: dag.inputs().clone(),
            runs: (0..dag.nodes()).map(|_| AtomicU32::new(0)).collect(),
            values: (0..dag.nodes()).map(|_| AtomicU64::new(0)).collect(),
            early_starts: AtomicUsize::new(0),
        })
    }

    /// The task to give the system: visits node `i`.
    pub fn task(self: &Arc<Self>) -> impl Fn(u32) + Clone + Send + Sync + 'static {
        let witness = Arc::clone(self);
        move |i| witness.visit(i)
    }

    /// Runs node `i`: checks that its inputs have run, then stores its value.
    /// A violation is counted rather than panicking, so that a broken system
    /// still finishes and [`Witness::verdict`] can say what went wrong.
    pub fn visit(&self, i: u32) {
        let mut value = mix(u64::from(i));
        for &input in self.inputs.of(i) {
            // Acquire pairs with the Release below in the input's visit (and
            // relies on the system's own edge between the two tasks).
            if self.runs[input as usize].load(Ordering::Acquire) != 1 {
                self.early_starts.fetch_add(1, Ordering::Relaxed);
            }
            value = value.wrapping_add(self.values[input as usize].load(Ordering::Relaxed));
        }
        self.values[i as usize].store(value, Ordering::Relaxed);
        self.runs[i as usize].fetch_add(1, Ordering::Release);
    }

    /// `Ok(values)` if every node ran once and after its inputs; else what
    /// went wrong.
    pub fn verdict(&self) -> Result<Vec<u64>, String> {
        let early = self.early_starts.load(Ordering::Relaxed);
        if early > 0 {
            return Err(format!(
                "{early} nodes started before one of their inputs finished"
            ));
        }
        let wrong: Vec<(usize, u32)> = (self.runs.iter().map(|r| r.load(Ordering::Acquire)))
            .enumerate()
            .filter(|&(_, runs)| runs != 1)
            .take(5)
            .collect();
        if !wrong.is_empty() {
            return Err(format!(
                "nodes run other than once, (node, runs): {wrong:?}"
            ));
        }
        Ok(self
            .values
            .iter()
            .map(|v| v.load(Ordering::Relaxed))
            .collect())
    }
}

/// A 64-bit finaliser (from SplitMix64), so that values differ per node.
fn mix(x: u64) -> u64 {
    let z = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
